package org.sd3j.train.vae;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.sd3j.image.Image;
import org.sd3j.model.LatentFormat;
import org.sd3j.testing.IdentityVae;

/**
 * PSNR through {@link IdentityVae} (x2 average pooling, nearest upsampling): images constant on 2x2 blocks come back
 * exactly; adding +-d in a checkerboard within each block comes back without it, an error of exactly d per value.
 */
class ReconstructionMetricsTest {
    private static final IdentityVae VAE = new IdentityVae(new LatentFormat(3, 2, 1, 0));

    /** 4x4, each 2x2 block one grey level, plus {@code +-d} in a checkerboard. */
    private static Image blocks(int base, int d) {
        byte[] rgb = new byte[4 * 4 * 3];
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 4; x++) {
                int v = base + 20 * (y / 2 * 2 + x / 2) + ((x + y) % 2 == 0 ? d : -d);
                for (int c = 0; c < 3; c++) {
                    rgb[(y * 4 + x) * 3 + c] = (byte) v;
                }
            }
        }
        return Image.of(4, 4, rgb);
    }

    @Test
    void anExactReconstructionHasInfinitePsnr() {
        ReconstructionMetrics m = ReconstructionMetrics.measure(VAE, List.of(blocks(40, 0), blocks(90, 0)), 1);
        assertThat(m.images()).isEqualTo(2);
        assertThat(m.mse()).isZero();
        assertThat(m.psnr()).isInfinite();
        assertThat(m.worstImagePsnr()).isInfinite();
    }

    @Test
    void psnrIsTenLog10Of255SquaredOverTheMeanSquaredErrorPooledOverImages() {
        // Errors of 4 and 8 on every value: MSE 16 and 64, pooled 40.
        ReconstructionMetrics m = ReconstructionMetrics.measure(VAE, List.of(blocks(40, 4), blocks(90, 8),
                blocks(60, 4)), 2);
        assertThat(m.mse()).isCloseTo((16 + 64 + 16) / 3.0, offset(1e-9));
        assertThat(m.psnr()).isCloseTo(10 * Math.log10(255.0 * 255.0 / 32), offset(1e-9));
        assertThat(m.worstImagePsnr()).isCloseTo(10 * Math.log10(255.0 * 255.0 / 64), offset(1e-9));
        assertThat(m.toString()).startsWith("PSNR 33.08 dB (MSE 32.00, worst image 30.07 dB, 3 images)");
    }

    @Test
    void refusesNoImagesAndImagesOfDifferentSizes() {
        assertThatThrownBy(() -> ReconstructionMetrics.measure(VAE, List.of(), 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("images must be non-empty, found none");
        Image other = Image.of(2, 2, new byte[12]);
        assertThatThrownBy(() -> ReconstructionMetrics.measure(VAE, List.of(blocks(0, 0), other), 4))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("images must all be 4x4, found 2x2 at index 1");
    }
}
