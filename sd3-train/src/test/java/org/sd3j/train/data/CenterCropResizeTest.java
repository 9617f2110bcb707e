package org.sd3j.train.data;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.sd3j.image.Image;

class CenterCropResizeTest {

    @Test
    void outputHasTheTargetSizeForAnyInputShape() {
        for (int[] size : new int[][] {{100, 60}, {60, 100}, {64, 64}, {333, 77}, {40, 30}}) {
            Image out = CenterCropResize.apply(TestImages.blocks(size[0], size[1], 1), new BucketSize(48, 32));
            assertThat(out.width()).isEqualTo(48);
            assertThat(out.height()).isEqualTo(32);
        }
    }

    @Test
    void sameSizeIsTheIdentity() {
        Image in = TestImages.blocks(48, 32, 2, 1);
        assertThat(CenterCropResize.apply(in, new BucketSize(48, 32)).toRgbBytes()).isEqualTo(in.toRgbBytes());
    }

    @Test
    void cropWithoutScalingTakesTheCenterWithoutBlur() {
        Image in = TestImages.blocks(52, 32, 3, 1);   // 4 extra columns: 2 cut on each side
        Image out = CenterCropResize.apply(in, new BucketSize(48, 32));
        for (int y = 0; y < 32; y += 7) {
            for (int x = 0; x < 48; x += 5) {
                assertThat(out.rgb(x, y)).isEqualTo(in.rgb(x + 2, y));
            }
        }
    }

    @Test
    void halvingAveragesEachTwoByTwoBlock() {
        Image in = TestImages.blocks(64, 64, 4, 1);
        Image out = CenterCropResize.apply(in, new BucketSize(32, 32));
        for (int y = 0; y < 32; y += 3) {
            for (int x = 0; x < 32; x += 3) {
                for (int shift : new int[] {16, 8, 0}) {
                    int sum = 0;
                    for (int d = 0; d < 4; d++) {
                        sum += in.rgb(2 * x + d % 2, 2 * y + d / 2) >> shift & 0xff;
                    }
                    assertThat(out.rgb(x, y) >> shift & 0xff).isEqualTo(Math.round(sum / 4f));
                }
            }
        }
    }

    @Test
    void wideImageIsScaledToTheHeightAndCroppedToTheMiddle() {
        // Left third red, middle third green, right third blue; a square crop keeps only the green middle.
        byte[] rgb = new byte[96 * 32 * 3];
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 96; x++) {
                rgb[(y * 96 + x) * 3 + x / 32] = (byte) 255;
            }
        }
        Image out = CenterCropResize.apply(Image.of(96, 32, rgb), new BucketSize(16, 16));
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                assertThat(out.rgb(x, y)).isEqualTo(0x00ff00);
            }
        }
    }

    @Test
    void isDeterministic() {
        Image in = TestImages.blocks(317, 211, 5, 3);
        byte[] first = CenterCropResize.apply(in, new BucketSize(64, 48)).toRgbBytes();
        assertThat(CenterCropResize.apply(in, new BucketSize(64, 48)).toRgbBytes()).isEqualTo(first);
    }

    @Test
    void smallImagesAreUpscaledBilinearly() {
        assertThat(CenterCropResize.coverScale(16, 32, new BucketSize(32, 32))).isEqualTo(2.0);
        assertThat(CenterCropResize.coverScale(64, 32, new BucketSize(32, 32))).isEqualTo(1.0);
        Image flat = Image.of(16, 16, new byte[16 * 16 * 3]);
        Image out = CenterCropResize.apply(flat, new BucketSize(32, 32));
        assertThat(out.width()).isEqualTo(32);
        assertThat(out.toRgbBytes()).containsOnly((byte) 0);
    }
}
