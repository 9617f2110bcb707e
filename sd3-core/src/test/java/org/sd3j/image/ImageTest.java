package org.sd3j.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.sd3j.ModelLoadException;
import org.sd3j.tensor.Tensor;

class ImageTest {

    /** A 1x1 image from one value per channel in [-1, 1]. */
    private static int pixel(float r, float g, float b) {
        return Image.fromTensor(Tensor.of(new float[] {r, g, b}, 1, 3, 1, 1), 0).rgb(0, 0);
    }

    private static int gray(float v) {
        return pixel(v, v, v) & 0xff;
    }

    @Nested
    class FromTensor {
        @ParameterizedTest(name = "{0} -> {1}")
        @CsvSource({
            "-1.0, 0",
            "1.0, 255",
            "0.0, 128",
            "0.5, 191",
            "-0.5, 64",
            "2.0, 255",
            "-3.0, 0",
            "NaN, 0",
            "Infinity, 255",
            "-Infinity, 0",
            "0.003921569, 128",
            "-0.996, 1",
        })
        void mapsHalfPlusHalfClampedTimes255Rounded(float value, int expected) {
            assertThat(gray(value)).isEqualTo(expected);
        }

        @Test
        void channelsBecomeRedGreenBlue() {
            assertThat(pixel(1f, -1f, 0f)).isEqualTo(0xff0080);
        }

        @Test
        void readsPlanarChannelsRowMajor() {
            // [1, 3, 2, 3]: red plane counts 0..5, green and blue are -1.
            float[] values = new float[18];
            java.util.Arrays.fill(values, -1f);
            for (int i = 0; i < 6; i++) {
                values[i] = i / 127.5f - 1f;
            }

            Image image = Image.fromTensor(Tensor.of(values, 1, 3, 2, 3), 0);

            assertThat(image.width()).isEqualTo(3);
            assertThat(image.height()).isEqualTo(2);
            assertThat(image.rgb(2, 0) >> 16).isEqualTo(2);
            assertThat(image.rgb(0, 1) >> 16).isEqualTo(3);
            assertThat(image.rgb(2, 1)).isEqualTo(5 << 16);
        }

        @Test
        void picksTheBatchItem() {
            Tensor batch = Tensor.concat(0, Tensor.full(-1f, 1, 3, 2, 2), Tensor.full(1f, 1, 3, 2, 2));

            assertThat(Image.fromTensor(batch, 1).rgb(1, 1)).isEqualTo(0xffffff);
            assertThat(Image.fromBatch(batch)).extracting(i -> i.rgb(0, 0)).containsExactly(0, 0xffffff);
        }

        @Test
        void rejectsAnythingButBx3xHxW() {
            assertThatThrownBy(() -> Image.fromTensor(Tensor.zeros(1, 4, 2, 2), 0))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("images must be [B, 3, H, W], found Tensor[1, 4, 2, 2]");
            assertThatThrownBy(() -> Image.fromTensor(Tensor.zeros(3, 2, 2), 0))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("images must be [B, 3, H, W], found Tensor[3, 2, 2]");
        }

        @Test
        void rejectsAnIndexOutOfRange() {
            assertThatThrownBy(() -> Image.fromTensor(Tensor.zeros(2, 3, 2, 2), 2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("index must be in [0, 2), found 2");
        }

        @Test
        void rejectsNull() {
            assertThatThrownBy(() -> Image.fromTensor(null, 0))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("images must be non-null, found null");
        }
    }

    @Nested
    class ToTensor {
        @Test
        void mapsBytesToMinusOneToOne() {
            Image image = Image.of(3, 1, new byte[] {0, 0, 0, (byte) 255, (byte) 255, (byte) 255, 51, 102, (byte) 204});

            Tensor t = image.toTensor();

            assertThat(t.shape()).containsExactly(1, 3, 1, 3);
            assertThat(t.at(0, 0, 0, 0)).isEqualTo(-1f);
            assertThat(t.at(0, 2, 0, 1)).isEqualTo(1f);
            assertThat(t.at(0, 0, 0, 2)).isCloseTo(51 / 127.5f - 1f, within(1e-7f));
            assertThat(t.at(0, 1, 0, 2)).isCloseTo(102 / 127.5f - 1f, within(1e-7f));
            assertThat(t.at(0, 2, 0, 2)).isCloseTo(204 / 127.5f - 1f, within(1e-7f));
        }

        @Test
        void isInvertedByFromTensorForEveryByteValue() {
            byte[] rgb = new byte[256 * 3];
            for (int i = 0; i < 256; i++) {
                rgb[3 * i] = (byte) i;
                rgb[3 * i + 1] = (byte) (255 - i);
                rgb[3 * i + 2] = (byte) (i * 7);
            }
            Image image = Image.of(16, 16, rgb);

            assertThat(Image.fromTensor(image.toTensor(), 0).toRgbBytes()).isEqualTo(rgb);
        }
    }

    @Nested
    class ToGray {
        @Test
        void isTheChannelMeanInZeroToOne() {
            Image image = Image.of(3, 1, new byte[] {0, 0, 0, (byte) 255, (byte) 255, (byte) 255, (byte) 255, 0, 0});

            Tensor gray = image.toGray();

            assertThat(gray.shape()).containsExactly(1, 3);
            assertThat(gray.get(0)).isZero();
            assertThat(gray.get(1)).isEqualTo(1f);
            assertThat(gray.get(2)).isCloseTo(1f / 3, within(1e-6f));
        }

        @Test
        void isHeightByWidth() {
            assertThat(Image.of(4, 2, new byte[24]).toGray().shape()).containsExactly(2, 4);
        }
    }

    @Nested
    class Of {
        @Test
        void rejectsAWrongLength() {
            assertThatThrownBy(() -> Image.of(2, 2, new byte[11]))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("rgb.length must be 12 for 2x2 RGB, found 11");
        }

        @Test
        void rejectsAnEmptySize() {
            assertThatThrownBy(() -> Image.of(0, 2, new byte[0]))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("width must be >= 1, found 0");
        }

        @Test
        void copiesItsInput() {
            byte[] rgb = new byte[3];
            Image image = Image.of(1, 1, rgb);

            rgb[0] = 9;

            assertThat(image.rgb(0, 0)).isZero();
        }

        @Test
        void handsOutCopies() {
            Image image = Image.of(1, 1, new byte[3]);

            image.toRgbBytes()[0] = 9;

            assertThat(image.rgb(0, 0)).isZero();
        }

        @Test
        void rgbOutsideTheImageIsRejected() {
            Image image = Image.of(2, 2, new byte[12]);

            assertThatThrownBy(() -> image.rgb(2, 0))
                    .isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessage("(2, 0) is outside 2x2");
        }

        @Test
        void toStringGivesTheSize() {
            assertThat(Image.of(2, 1, new byte[6])).hasToString("Image[2x1]");
        }
    }

    @Nested
    class BufferedImages {
        @Test
        void roundTrip() {
            Image image = Image.of(2, 1, new byte[] {1, 2, 3, (byte) 250, (byte) 251, (byte) 252});

            Image back = Image.fromBufferedImage(image.toBufferedImage());

            assertThat(back.toRgbBytes()).isEqualTo(image.toRgbBytes());
        }

        @Test
        void alphaIsDropped() {
            BufferedImage argb = new BufferedImage(1, 1, BufferedImage.TYPE_INT_ARGB);
            argb.setRGB(0, 0, 0x80123456);

            assertThat(Image.fromBufferedImage(argb).rgb(0, 0)).isEqualTo(0x123456);
        }
    }

    @Nested
    class Read {
        @TempDir
        Path dir;

        @Test
        void aNonImageIsAModelLoadException() throws Exception {
            Path file = Files.writeString(dir.resolve("notes.txt"), "not an image");

            assertThatThrownBy(() -> Image.read(file))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage(file + ": not an image in a format ImageIO can read (expected PNG, JPEG, BMP or GIF)");
        }

        @Test
        void aMissingFileIsAModelLoadException() {
            Path file = dir.resolve("missing.png");

            assertThatThrownBy(() -> Image.read(file))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessageStartingWith(file + ": cannot read image");
        }
    }
}
