package org.sd3j.examples.shapes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class NamedColorTest {

    @Test
    void eachColourIsNearestToItself() {
        for (NamedColor c : NamedColor.values()) {
            assertThat(NamedColor.nearest(c.rgb())).isEqualTo(c);
            assertThat(c.distance(c.rgb())).isZero();
        }
    }

    @Test
    void coloursAreFarApartInLab() {
        double closest = Double.POSITIVE_INFINITY;
        for (NamedColor a : NamedColor.values()) {
            for (NamedColor b : NamedColor.values()) {
                if (a != b) {
                    closest = Math.min(closest, a.distance(b.rgb()));
                }
            }
        }
        // A CIELAB distance of about 2 is just noticeable; 40 survives blur, noise and a colour cast.
        assertThat(closest).isGreaterThan(40);
    }

    @Test
    void labMatchesPublishedValues() {
        // sRGB white is L=100, a=b=0; pure red is L=53.24, a=80.09, b=67.20 (D65).
        double[] white = Lab.of(0xFFFFFF);
        double[] red = Lab.of(0xFF0000);
        assertThat(white[0]).isCloseTo(100, org.assertj.core.data.Offset.offset(0.01));
        assertThat(Math.abs(white[1]) + Math.abs(white[2])).isLessThan(0.01);
        assertThat(red).containsExactly(new double[] {53.24, 80.09, 67.20}, org.assertj.core.data.Offset.offset(0.02));
    }

    @Test
    void slightlyOffColoursKeepTheirName() {
        assertThat(NamedColor.nearest(0xC83C3C)).isEqualTo(NamedColor.RED);
        assertThat(NamedColor.nearest(0x6E6E6E)).isEqualTo(NamedColor.GRAY);
        assertThat(NamedColor.nearest(0x000000)).isEqualTo(NamedColor.BLACK);
    }

    @Test
    void ofWordFindsColourOrNamesTheChoices() {
        assertThat(NamedColor.ofWord("purple")).isEqualTo(NamedColor.PURPLE);
        assertThatThrownBy(() -> NamedColor.ofWord("teal"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("word must be a colour name (")
                .hasMessageContaining("gray")
                .hasMessageEndingWith("found teal");
    }
}
