package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;

class ImageSizeTest {

    @Test
    void parsesWidthByHeightAndSquares() {
        assertThat(ImageSize.parse("1024x768")).isEqualTo(new ImageSize(1024, 768));
        assertThat(ImageSize.parse("64X32")).isEqualTo(new ImageSize(64, 32));
        assertThat(ImageSize.parse("512")).isEqualTo(new ImageSize(512, 512));
        assertThat(ImageSize.parse("100x100")).hasToString("100x100");
    }

    @Test
    void rejectsOtherForms() {
        for (String bad : new String[] {"", "x64", "64x", "64*64", "-64x64", "64x64x3", "1234567x1"}) {
            assertThatIllegalArgumentException().as(bad).isThrownBy(() -> ImageSize.parse(bad))
                    .withMessage("size must be WIDTHxHEIGHT (e.g. 1024x768) or one number for a square, found '"
                            + bad + "'");
        }
    }
}
