package org.sd3j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.sd3j.schedule.Sigmas;
import org.sd3j.tensor.Tensor;

class FlowMatchHeunSamplerTest {
    private final Sampler heun = new FlowMatchHeunSampler();
    private static final VelocityModel IDENTITY = (x, sigma) -> x.copy(); // v = x

    @Test
    void handComputedTrapezoidStep() {
        // sigmas 1, 0.5, 0; v = x, x = 2.
        // step 0: v1 = 2, predictor 2 - 0.5*2 = 1, v2 = 1, x = 2 - 0.5*(2 + 1)/2 = 1.25
        // step 1 (to 0): plain Euler, 1.25 - 0.5*1.25 = 0.625
        SamplerHarness.Recording model = new SamplerHarness.Recording(IDENTITY);
        Tensor x = Tensor.of(new float[] {2f}, 1);
        SamplerRun run = heun.start(Sigmas.of(1f, 0.5f), null);
        run.step(0, x, model);
        assertThat(x.get(0)).isEqualTo(1.25f);
        assertThat(model.sigmas).containsExactly(1f, 0.5f);
        run.step(1, x, model);
        assertThat(x.get(0)).isEqualTo(0.625f);
        assertThat(model.sigmas).containsExactly(1f, 0.5f, 0.5f);
    }

    @Test
    void predictorSeesTheEulerPrediction() {
        float[] predicted = new float[1];
        VelocityModel model = (x, sigma) -> {
            if (sigma == 0.4f) {
                predicted[0] = x.get(0);
            }
            return Tensor.full(3f, x.shape());
        };
        Tensor x = Tensor.of(new float[] {1f}, 1);
        heun.start(Sigmas.of(0.9f, 0.4f), null).step(0, x, model);
        assertThat(predicted[0]).isCloseTo(1f - 0.5f * 3f, within(1e-6f));
        assertThat(x.get(0)).isCloseTo(1f - 0.5f * 3f, within(1e-6f)); // constant v: trapezoid = Euler
    }

    @Test
    void predictorDoesNotChangeTheStateBeforeTheCorrector() {
        // The corrector starts from the step's x, not from the prediction.
        Tensor x = Tensor.of(new float[] {4f}, 1);
        heun.start(Sigmas.of(1f, 0.5f), null).step(0, x, (in, sigma) -> sigma == 1f ? Tensor.full(2f, 1)
                : Tensor.full(6f, 1));
        // x = 4 + (-0.5) * (2 + 6)/2 = 2
        assertThat(x.get(0)).isEqualTo(2f);
    }

    @Test
    void isExactForVelocityLinearInTime() {
        // v(t) = 2t: x(t) = x1 + t^2 - 1; the trapezoid rule is exact for linear integrands (all but the last
        // step, which is Euler from sigma_last: error sigma_last^2).
        Sigmas sigmas = Sigmas.of(1f, 0.75f, 0.5f, 0.25f, 0.01f);
        Tensor x = Tensor.of(new float[] {0f}, 1);
        SamplerRun run = heun.start(sigmas, null);
        VelocityModel model = (in, sigma) -> Tensor.full(2 * sigma, 1);
        for (int i = 0; i < 4; i++) {
            run.step(i, x, model);
            float t = sigmas.get(i + 1);
            assertThat(x.get(0)).as("level %d", i + 1).isCloseTo(t * t - 1, within(1e-6f));
        }
        run.step(4, x, model);
        assertThat(x.get(0)).isCloseTo(0.01f * 0.01f - 1 - 0.01f * 0.02f, within(1e-6f));
    }

    @Test
    void nameIsHeun() {
        assertThat(heun.name()).isEqualTo("heun").isEqualTo(FlowMatchHeunSampler.NAME);
    }
}
