package org.sd3j.train.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.sd3j.tensor.Tensor;

class GradientClippingTest {

    @ParameterizedTest
    @ValueSource(strings = {"clipped", "unclipped", "max2"})
    void matchesTorchClipGradNorm(String name) {
        try (TorchGolden golden = TorchGolden.open()) {
            String c = "clip/" + name + "/";
            Map<String, Tensor> grads = golden.group(c + "before/");
            double maxNorm = golden.doubles(c + "max_norm")[0];
            double norm = GradientClipping.toMaxNorm(maxNorm).clip(grads);
            double torchNorm = golden.doubles(c + "norm")[0];
            // torch reduces in float32, this class in double.
            assertThat(norm).isCloseTo(torchNorm, within(1e-6 * torchNorm));
            golden.group(c + "after/").forEach((k, expected) -> {
                for (int i = 0; i < expected.size(); i++) {
                    float e = expected.get(i);
                    assertThat(grads.get(k).get(i)).as(k + "[" + i + "]").isCloseTo(e, within(2e-7f * Math.abs(e)));
                }
            });
            if (name.equals("unclipped")) {
                Map<String, Tensor> before = golden.group(c + "before/");
                before.forEach((k, t) -> assertThat(grads.get(k).toArray()).containsExactly(t.toArray()));
            }
        }
    }

    @Test
    void clippedNormIsTheMaximum() {
        Map<String, Tensor> g = Map.of("a", Tensor.of(new float[] {3, 0}, 2), "b", Tensor.of(new float[] {4}, 1));
        double norm = GradientClipping.defaults().clip(g);
        assertThat(norm).isEqualTo(5.0);
        assertThat(GradientClipping.globalNorm(g)).isCloseTo(1.0, within(1e-6));
        assertThat(g.get("a").get(0)).isCloseTo(0.6f, within(1e-6f));
    }

    @Test
    void normOfManyBlocksIsTheSumOfEveryElementsSquare() {
        Map<String, Tensor> g = AdamWTest.randomTensors(3, "a:500x100", "b:8191", "c:3");
        double sum = 0;
        for (Tensor t : g.values()) {
            for (int i = 0; i < t.size(); i++) {
                sum += (double) t.get(i) * t.get(i);
            }
        }
        assertThat(GradientClipping.globalNorm(g)).isCloseTo(Math.sqrt(sum), within(1e-12 * Math.sqrt(sum)));
    }

    @Test
    void coefficientIsOneUnlessTheNormExceedsTheMaximum() {
        GradientClipping c = GradientClipping.toMaxNorm(2);
        assertThat(c.coefficient(1.5)).isEqualTo(1.0f);
        assertThat(c.coefficient(4.0)).isEqualTo((1.0f / (4.0f + 1e-6f)) * 2.0f);
        assertThat(c.coefficient(Double.NaN)).isEqualTo(1.0f);
    }

    @Test
    void nonFiniteGradientsAreReportedAndLeftAlone() {
        Map<String, Tensor> g = Map.of("a", Tensor.of(new float[] {Float.NaN, 100}, 2));
        assertThat(GradientClipping.defaults().clip(g)).isNaN();
        assertThat(g.get("a").get(1)).isEqualTo(100f);
    }

    @Test
    void maxNormMustBePositive() {
        assertThatThrownBy(() -> GradientClipping.toMaxNorm(0))
                .hasMessage("maxNorm must be finite and > 0, found 0.0");
        assertThat(GradientClipping.defaults().maxNorm()).isEqualTo(1.0);
    }
}
