package org.sd3j.train.vae;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.sd3j.image.Image;
import org.sd3j.model.LatentFormat;
import org.sd3j.testing.IdentityVae;

/** Scaling and shift from latents whose values are known: {@link IdentityVae}'s latents are the image's values. */
class LatentScalingTest {
    private static Image flat(int r, int g, int b) {
        byte[] rgb = new byte[4 * 4 * 3];
        for (int i = 0; i < 16; i++) {
            rgb[i * 3] = (byte) r;
            rgb[i * 3 + 1] = (byte) g;
            rgb[i * 3 + 2] = (byte) b;
        }
        return Image.of(4, 4, rgb);
    }

    @Test
    void shiftIsTheMeanOfTheLatentMeansAndScalingOneOverTheirStandardDeviation() {
        // Three latent channels, one per colour: every latent value is one of the images' six values in [-1, 1].
        List<Image> images = List.of(flat(0, 51, 102), flat(153, 204, 255));
        LatentScaling s = LatentScaling.measure(new IdentityVae(new LatentFormat(3, 2, 1, 0)), images, 1);
        double[] v = {-1, -0.6, -0.2, 0.2, 0.6, 1};
        double mean = 0;
        for (double x : v) {
            mean += x / v.length;
        }
        double var = 0;
        for (double x : v) {
            var += (x - mean) * (x - mean) / v.length;
        }
        assertThat(s.shiftFactor()).isCloseTo(mean, offset(1e-6));
        assertThat(s.scalingFactor()).isCloseTo(1 / Math.sqrt(var), offset(1e-5));
    }

    @Test
    void roundTripsThroughMetadataUnderDiffusersNames() {
        LatentScaling s = new LatentScaling(1.25, -0.0625);
        assertThat(s.toMetadata()).containsExactly(Map.entry("scaling_factor", "1.25"),
                Map.entry("shift_factor", "-0.0625"));
        assertThat(LatentScaling.fromMetadata(s.toMetadata())).isEqualTo(s);
        assertThatThrownBy(() -> LatentScaling.fromMetadata(Map.of("scaling_factor", "x", "shift_factor", "0")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("metadata['scaling_factor'] must be a number, found x");
    }

    @Test
    void latentsWithoutSpreadCannotBeNormalized() {
        assertThatThrownBy(() -> LatentScaling.measure(new IdentityVae(new LatentFormat(3, 2, 1, 0)),
                List.of(flat(9, 9, 9)), 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("latents must vary to be normalized, found variance 0.0");
        assertThatThrownBy(() -> new LatentScaling(0, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("scalingFactor must be");
    }
}
