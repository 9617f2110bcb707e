package org.sd3j.onnx.vae;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

class TiledDecoderTest {
    /** A local "decoder": nearest x2 upsampling of channel sums into 3 channels (no cross-pixel context). */
    static Tensor local(Tensor z) {
        int[] s = z.shape();
        Tensor out = Tensor.zeros(s[0], 3, s[2] * 2, s[3] * 2);
        for (int b = 0; b < s[0]; b++) {
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < s[2] * 2; y++) {
                    for (int x = 0; x < s[3] * 2; x++) {
                        float v = z.at(b, c % s[1], y / 2, x / 2) * (c + 1);
                        out.set(((b * 3 + c) * s[2] * 2 + y) * s[3] * 2 + x, v);
                    }
                }
            }
        }
        return out;
    }

    static Tensor random(int... shape) {
        Tensor t = Tensor.zeros(shape);
        java.util.Random r = new java.util.Random(7);
        for (int i = 0; i < t.size(); i++) {
            t.set(i, (float) r.nextGaussian());
        }
        return t;
    }

    @Test
    void blendingAPixelLocalDecoderReproducesTheWholeDecode() {
        Tensor z = random(2, 4, 13, 21);
        AtomicInteger calls = new AtomicInteger();
        UnaryOperator<Tensor> dec = t -> {
            calls.incrementAndGet();
            return local(t);
        };
        Tensor tiled = TiledDecoder.decode(dec, z, 6, 2, 2);
        assertThat(calls.get()).isGreaterThan(4);
        assertThat(tiled.shape()).containsExactly(2, 3, 26, 42);
        assertThat(tiled.maxAbsDiff(local(z))).isLessThan(1e-5);
    }

    @Test
    void smallLatentsAreDecodedWhole() {
        AtomicInteger calls = new AtomicInteger();
        Tensor z = random(1, 4, 6, 6);
        TiledDecoder.decode(t -> {
            calls.incrementAndGet();
            return local(t);
        }, z, 6, 2, 2);
        assertThat(calls.get()).isEqualTo(1);
    }

    @Test
    void tilesCoverTheLatent() {
        assertThat(TiledDecoder.starts(13, 6, 2)).containsExactly(0, 4, 7);
        assertThat(TiledDecoder.starts(6, 6, 2)).containsExactly(0);
        assertThat(TiledDecoder.starts(10, 6, 2)).containsExactly(0, 4);
    }

    @Test
    void rampsFadeOnlyTowardsNeighbours() {
        float[] w = TiledDecoder.ramp(8, 4, true, false);
        assertThat(w[0]).isEqualTo(0.125f);
        assertThat(w[3]).isEqualTo(0.875f);
        assertThat(w[4]).isEqualTo(1f);
        assertThat(w[7]).isEqualTo(1f);
    }

    @Test
    void overlapMustBeSmallerThanTheTile() {
        assertThatThrownBy(() -> TiledDecoder.decode(TiledDecoderTest::local, random(1, 4, 8, 8), 4, 4, 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("overlap must be less than the tile size 4, found 4");
    }

    @Test
    void tiledVaeDecodeIsCloseToTheWholeDecode() {
        try (OnnxVae vae = OnnxVae.load(VaeParityTest.resource("weights.safetensors"), OnnxOptions.cpu());
             TensorSource g = Safetensors.open(VaeParityTest.resource("decode_8x8.safetensors"))) {
            Tensor latent = g.toFloatTensor("latent");
            Tensor whole = vae.decode(latent);
            Tensor tiled = vae.decodeTiled(latent, 6, 4);
            assertThat(tiled.shape()).containsExactly(whole.shape());
            assertThat(tiled.allFinite()).isTrue();
            // GroupNorm and attention see one tile at a time: close, not equal.
            double mean = 0;
            for (int i = 0; i < whole.size(); i++) {
                mean += Math.abs(tiled.get(i) - whole.get(i));
            }
            mean /= whole.size();
            System.out.println("VAE tiled (6/4) vs whole decode: mean abs diff " + mean + ", max "
                    + tiled.maxAbsDiff(whole));
            assertThat(mean).isLessThan(0.5);
        }
    }
}
