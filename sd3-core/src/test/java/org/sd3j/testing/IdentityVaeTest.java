package org.sd3j.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.sd3j.model.LatentDistribution;
import org.sd3j.model.LatentFormat;
import org.sd3j.tensor.Tensor;

class IdentityVaeTest {
    private static final LatentFormat X2 = new LatentFormat(4, 2, 1.5, 0.25);

    @Test
    void encodeAveragePoolsEachBlockOfChannelCMod3() {
        // [1, 3, 2, 4] image, f = 2: latents [1, 4, 1, 2].
        Tensor image = Tensor.of(new float[] {
            1, 2, 3, 4, /**/ 5, 6, 7, 8,          // red
            0, 0, 1, 1, /**/ 0, 0, 1, 1,          // green
            -1, -1, -1, -1, /**/ 1, 1, 1, 1,      // blue
        }, 1, 3, 2, 4);

        LatentDistribution d = new IdentityVae(X2).encode(image);

        assertThat(d.mean().shape()).containsExactly(1, 4, 1, 2);
        assertThat(d.mean().toArray()).containsExactly(
                3.5f, 5.5f,   // red: (1+2+5+6)/4, (3+4+7+8)/4
                0f, 1f,       // green
                0f, 0f,       // blue
                3.5f, 5.5f);  // channel 3 repeats red
    }

    @Test
    void encodeReportsTheConstantLogvar() {
        LatentDistribution d = new IdentityVae(X2).encode(Tensor.zeros(1, 3, 2, 2));

        assertThat(d.logvar().toArray()).containsOnly(IdentityVae.DEFAULT_LOGVAR);
        assertThat(new IdentityVae(X2, -1f).encode(Tensor.zeros(1, 3, 2, 2)).logvar().toArray()).containsOnly(-1f);
    }

    @Test
    void decodeRepeatsEachCellOfChannelKModC() {
        Tensor latents = Tensor.of(new float[] {0.5f, -0.5f, 0.1f, 0.2f, 0.3f, 0.4f, 9f, 9f}, 1, 4, 1, 2);

        Tensor image = new IdentityVae(X2).decode(latents);

        assertThat(image.shape()).containsExactly(1, 3, 2, 4);
        assertThat(image.slice(0, 1).reshape(3, 8).toArray()).containsExactly(
                0.5f, 0.5f, -0.5f, -0.5f, 0.5f, 0.5f, -0.5f, -0.5f,
                0.1f, 0.1f, 0.2f, 0.2f, 0.1f, 0.1f, 0.2f, 0.2f,
                0.3f, 0.3f, 0.4f, 0.4f, 0.3f, 0.3f, 0.4f, 0.4f);
    }

    @Test
    void decodeOfEncodeIsTheIdentityOnBlockConstantImages() {
        IdentityVae vae = new IdentityVae();
        Tensor image = Tensor.zeros(2, 3, 16, 24);
        for (int i = 0; i < image.size(); i++) {
            int x = i % 24;
            int y = (i / 24) % 16;
            int c = i / (24 * 16);
            image.set(i, ((x / 8) * 0.25f + (y / 8) * 0.1f + c * 0.05f) - 0.5f);
        }

        Tensor back = vae.decode(vae.encode(image).mean());

        assertThat(back.maxAbsDiff(image)).isLessThan(1e-6);
    }

    @Test
    void sd3FormatGives16ChannelsAtOneEighth() {
        IdentityVae vae = new IdentityVae();

        assertThat(vae.latentFormat()).isEqualTo(LatentFormat.SD3);
        assertThat(vae.encode(Tensor.zeros(1, 3, 64, 32)).mean().shape()).containsExactly(1, 16, 8, 4);
    }

    @Test
    void latentsOfDoesNotCountACall() {
        IdentityVae vae = new IdentityVae(X2);

        vae.latentsOf(Tensor.zeros(1, 3, 2, 2));
        vae.encode(Tensor.zeros(1, 3, 2, 2));
        vae.decode(Tensor.zeros(1, 4, 1, 1));

        assertThat(vae.encodeCount()).isEqualTo(1);
        assertThat(vae.decodeCount()).isEqualTo(1);
    }

    @Test
    void encodeRejectsASizeNotAMultipleOfTheDownscale() {
        assertThatThrownBy(() -> new IdentityVae().encode(Tensor.zeros(1, 3, 12, 16)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("images must be [B, 3, H, W] with H and W multiples of 8, found Tensor[1, 3, 12, 16]");
    }

    @Test
    void decodeRejectsTheWrongChannelCount() {
        assertThatThrownBy(() -> new IdentityVae().decode(Tensor.zeros(1, 4, 2, 2)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("latents must be [B, 16, h, w], found Tensor[1, 4, 2, 2]");
    }

    @Test
    void rejectsANonFiniteLogvar() {
        assertThatThrownBy(() -> new IdentityVae(X2, Float.NEGATIVE_INFINITY))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("logvar must be finite, found -Infinity");
    }
}
