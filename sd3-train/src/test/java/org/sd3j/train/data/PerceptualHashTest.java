package org.sd3j.train.data;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.sd3j.image.Image;

class PerceptualHashTest {

    @Test
    void resizedCopyHashesClose() {
        Image original = TestImages.blocks(128, 96, 7, 16);
        Image smaller = CenterCropResize.apply(original, new BucketSize(64, 48));
        assertThat(PerceptualHash.distance(PerceptualHash.dHash(original), PerceptualHash.dHash(smaller)))
                .isLessThanOrEqualTo(2);
    }

    @Test
    void differentPicturesHashFarApart() {
        long a = PerceptualHash.dHash(TestImages.blocks(128, 96, 7, 16));
        long b = PerceptualHash.dHash(TestImages.blocks(128, 96, 8, 16));
        assertThat(PerceptualHash.distance(a, b)).isGreaterThan(16);
    }

    @Test
    void bitsFollowBrightnessFromLeftToRight() {
        byte[] rgb = new byte[90 * 8 * 3];
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 90; x++) {
                java.util.Arrays.fill(rgb, (y * 90 + x) * 3, (y * 90 + x) * 3 + 3, (byte) (250 - 2 * x));
            }
        }
        assertThat(PerceptualHash.dHash(Image.of(90, 8, rgb))).isEqualTo(-1L);   // darkening: every bit set
        assertThat(PerceptualHash.distance(0L, -1L)).isEqualTo(64);
    }
}
