package org.sd3j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.sd3j.golden.GoldenTensors;
import org.sd3j.tensor.Tensor;

/** Against the reference VAE encoder's moments, mean/logvar split and sampling with stored noise. */
class LatentDistributionTest {
    private static final GoldenTensors GOLDEN = GoldenTensors.load("/golden/encode_32x32.safetensors");

    @Test
    void splitsMomentsIntoMeanThenLogvar() {
        LatentDistribution d = LatentDistribution.fromMoments(GOLDEN.tensor("moments"));
        assertThat(d.mean().toArray()).containsExactly(GOLDEN.tensor("mean").toArray());
        assertThat(d.logvar().toArray()).containsExactly(GOLDEN.tensor("logvar").toArray());
    }

    @Test
    void sampleMatchesReferenceWithTheSameNoise() {
        LatentDistribution d = LatentDistribution.fromMoments(GOLDEN.tensor("moments"));
        Tensor sample = d.sample(GOLDEN.tensor("eps"));
        // float32 exp and fma ordering vs torch: a few ulp on values of order 1.
        assertThat(sample.maxAbsDiff(GOLDEN.tensor("sample"))).isLessThan(1e-5);
    }

    @Test
    void clampsLogvarBeforeExponentiating() {
        Tensor mean = Tensor.zeros(1, 1, 1, 2);
        Tensor logvar = Tensor.of(new float[] {100f, -100f}, 1, 1, 1, 2);
        Tensor sample = new LatentDistribution(mean, logvar).sample(Tensor.full(1f, 1, 1, 1, 2));
        assertThat(sample.get(0)).isEqualTo((float) Math.exp(10.0), org.assertj.core.data.Offset.offset(1f));
        assertThat(sample.get(1)).isEqualTo((float) Math.exp(-15.0), org.assertj.core.data.Offset.offset(1e-9f));
    }

    @Test
    void rejectsOddChannelMoments() {
        assertThatThrownBy(() -> LatentDistribution.fromMoments(Tensor.zeros(1, 3, 2, 2)))
                .hasMessage("moments must be [B, 2C, h, w], found Tensor[1, 3, 2, 2]");
    }

    @Test
    void rejectsNoiseOfAnotherShape() {
        LatentDistribution d = new LatentDistribution(Tensor.zeros(1, 2, 2, 2), Tensor.zeros(1, 2, 2, 2));
        assertThatThrownBy(() -> d.sample(Tensor.zeros(1, 2, 2, 3)))
                .hasMessage("noise must be shaped like mean Tensor[1, 2, 2, 2], found Tensor[1, 2, 2, 3]");
    }
}
