package org.sd3j.examples.shapes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

class SceneGeneratorTest {
    private static final int N = 3000;
    private final List<CaptionedScene> scenes = new SceneGenerator(11).range(0, N);

    @Test
    void sameSeedAndIndexGiveTheSameScene() {
        SceneGenerator a = new SceneGenerator(5);
        SceneGenerator b = new SceneGenerator(5);
        assertThat(a.range(0, 200)).isEqualTo(b.range(0, 200));
        // Random access: scene 150 does not depend on the scenes before it being made.
        assertThat(new SceneGenerator(5).get(150)).isEqualTo(a.get(150));
    }

    @Test
    void otherSeedGivesOtherScenes() {
        List<CaptionedScene> a = new SceneGenerator(5).range(0, 200);
        List<CaptionedScene> b = new SceneGenerator(6).range(0, 200);
        long same = 0;
        for (int i = 0; i < a.size(); i++) {
            same += a.get(i).equals(b.get(i)) ? 1 : 0;
        }
        // Jittered extents and centres make equal scenes all but impossible; only signs can coincide.
        assertThat(same).isLessThan(5);
    }

    @Test
    void mixMatchesTheDocumentedShares() {
        int signs = 0;
        int terse = 0;
        int[] counts = new int[ShapeScene.MAX_COUNT + 1];
        for (CaptionedScene c : scenes) {
            terse += c.style() == CaptionStyle.TERSE ? 1 : 0;
            if (c.scene() instanceof SignScene) {
                signs++;
            } else {
                counts[((ShapeScene) c.scene()).count()]++;
            }
        }
        // Bounds are about 4 standard deviations of the binomial counts.
        assertThat(signs / (double) N).isBetween(0.12 - 0.025, 0.12 + 0.025);
        assertThat(terse / (double) N).isBetween(0.5 - 0.04, 0.5 + 0.04);
        int shapes = N - signs;
        assertThat(counts[1] / (double) shapes).isBetween(0.6 - 0.04, 0.6 + 0.04);
        assertThat(counts[2] / (double) shapes).isBetween(0.2 - 0.035, 0.2 + 0.035);
        assertThat(counts[3] / (double) shapes).isBetween(0.2 - 0.035, 0.2 + 0.035);
    }

    @Test
    void everyValueOfEveryAttributeOccurs() {
        Set<Object> seen = new HashSet<>();
        for (CaptionedScene c : scenes) {
            seen.addAll(c.scene().attributes().values());
        }
        assertThat(seen).containsAll(EnumSet.allOf(Shape.class)).containsAll(EnumSet.allOf(NamedColor.class))
                .containsAll(EnumSet.allOf(ObjectSize.class)).containsAll(EnumSet.allOf(Position.class))
                .contains(1, 2, 3).containsAll(CaptionVocabulary.signWords());
    }

    @Test
    void backgroundNeverEqualsTheInk() {
        assertThat(scenes).allSatisfy(c -> assertThat(c.scene().background()).isNotEqualTo(c.scene().color()));
    }

    @Test
    void objectsStayInsideTheImageAndGroupsApart() {
        for (CaptionedScene c : scenes) {
            if (!(c.scene() instanceof ShapeScene s)) {
                continue;
            }
            double aspect = s.shape().aspectRatio();
            for (SceneObject o : s.objects()) {
                double halfWidth = o.extent() * Math.min(1, aspect) / 2;
                double halfHeight = o.extent() * Math.min(1, 1 / aspect) / 2;
                assertThat(o.centerX() - halfWidth).as("left of %s", s).isGreaterThanOrEqualTo(0.0199);
                assertThat(o.centerX() + halfWidth).as("right of %s", s).isLessThanOrEqualTo(0.9801);
                assertThat(o.centerY() - halfHeight).as("top of %s", s).isGreaterThanOrEqualTo(0.0199);
                assertThat(o.centerY() + halfHeight).as("bottom of %s", s).isLessThanOrEqualTo(0.9801);
            }
            for (int i = 0; i < s.count(); i++) {
                for (int j = 0; j < i; j++) {
                    SceneObject a = s.objects().get(i);
                    SceneObject b = s.objects().get(j);
                    double gapX = Math.abs(a.centerX() - b.centerX())
                            - (a.extent() + b.extent()) * Math.min(1, aspect) / 2;
                    double gapY = Math.abs(a.centerY() - b.centerY())
                            - (a.extent() + b.extent()) * Math.min(1, 1 / aspect) / 2;
                    assertThat(Math.max(gapX, gapY)).as("gap in %s", s)
                            .isGreaterThanOrEqualTo(SceneGenerator.GROUP_GAP);
                }
            }
        }
    }

    @Test
    void loneObjectsKeepClearOfTheSizeAndCellBoundaries() {
        // Margins the reader relies on: extents at least 0.08 from the size threshold, centres 0.04 from a third.
        for (CaptionedScene c : scenes) {
            if (c.scene() instanceof ShapeScene s && s.count() == 1) {
                SceneObject o = s.objects().get(0);
                assertThat(Math.abs(o.extent() - ObjectSize.THRESHOLD)).isGreaterThan(0.08);
                for (double v : new double[] {o.centerX(), o.centerY()}) {
                    assertThat(Math.min(Math.abs(v - 1.0 / 3), Math.abs(v - 2.0 / 3))).isGreaterThan(0.04);
                }
            }
        }
    }

    @Test
    void rangeIsGetInOrder() {
        SceneGenerator g = new SceneGenerator(3);
        assertThat(g.range(10, 3)).containsExactly(g.get(10), g.get(11), g.get(12));
        assertThat(g.range(10, 0)).isEmpty();
    }

    @Test
    void rejectsNegativeIndexAndCount() {
        SceneGenerator g = new SceneGenerator(3);
        assertThatThrownBy(() -> g.get(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("index must be >= 0, found -1");
        assertThatThrownBy(() -> g.range(0, -2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("count must be >= 0, found -2");
    }
}
