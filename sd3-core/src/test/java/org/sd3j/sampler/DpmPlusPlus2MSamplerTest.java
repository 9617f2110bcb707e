package org.sd3j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.sd3j.schedule.Sigmas;
import org.sd3j.tensor.Tensor;

/**
 * k-diffusion's {@code sample_dpmpp_2m} with the flow model as the denoiser {@code x0 = x - sigma*v}.
 * Tolerance 1e-6: the hand values are exact in decimal, the sigmas 0.8, 0.4, 0.1 are not exact in float32.
 */
class DpmPlusPlus2MSamplerTest {
    private final Sampler dpm = new DpmPlusPlus2MSampler();
    private static final Sigmas SIGMAS = Sigmas.of(0.8f, 0.4f, 0.1f);
    /** v = 0.5 x + 1, an arbitrary affine field. */
    private static final VelocityModel AFFINE = SamplerHarness.elementwise((x, t) -> 0.5 * x + 1);

    @Test
    void handComputedRun() {
        // step 0 (first order): v = 2, x0 = 2 - 0.8*2 = 0.4; h = ln 2, sigma ratio 1/2, -expm1(-h) = 1/2
        //   x = 0.5*2 + 0.5*0.4 = 1.2
        // step 1 (second order): v = 1.6, x0 = 1.2 - 0.4*1.6 = 0.56; h = ln 4, h_last = ln 2, r = 1/2,
        //   D = (1 + 1/(2r)) x0 - 1/(2r) x0_prev = 2*0.56 - 0.4 = 0.72; x = 0.25*1.2 + 0.75*0.72 = 0.84
        // step 2 (to 0): v = 1.42, x = x0 = 0.84 - 0.1*1.42 = 0.698
        Tensor x = Tensor.of(new float[] {2f}, 1);
        SamplerRun run = dpm.start(SIGMAS, null);
        run.step(0, x, AFFINE);
        assertThat(x.get(0)).isCloseTo(1.2f, within(1e-6f));
        run.step(1, x, AFFINE);
        assertThat(x.get(0)).isCloseTo(0.84f, within(1e-6f));
        run.step(2, x, AFFINE);
        assertThat(x.get(0)).isCloseTo(0.698f, within(1e-6f));
    }

    @Test
    void secondStepDiffersFromAFirstOrderStep() {
        // The first-order update at step 1 would give 0.25*1.2 + 0.75*0.56 = 0.72, not 0.84.
        Tensor x = Tensor.of(new float[] {1.2f}, 1);
        dpm.start(SIGMAS, null).step(1, x, AFFINE);
        assertThat(x.get(0)).isCloseTo(0.72f, within(1e-6f));
    }

    @Test
    void img2ImgRunTakesAFirstOrderFirstStep() {
        // A run that starts at index 1 has no previous estimate, whatever the schedule before it.
        SamplerRun run = dpm.start(SIGMAS, null);
        Tensor x = Tensor.of(new float[] {1.2f}, 1);
        run.step(1, x, AFFINE);
        assertThat(x.get(0)).isCloseTo(0.72f, within(1e-6f));
        run.step(2, x, AFFINE); // to 0: x = x0 = 0.72 - 0.1*(0.36 + 1)
        assertThat(x.get(0)).isCloseTo(0.584f, within(1e-6f));
    }

    @Test
    void skippedStepFallsBackToFirstOrder() {
        // History from step 0 must not be used at step 2: it is not the previous level.
        SamplerRun run = dpm.start(Sigmas.of(0.9f, 0.6f, 0.3f, 0.1f), null);
        Tensor a = Tensor.of(new float[] {1f}, 1);
        run.step(0, a, AFFINE);
        Tensor x = Tensor.of(new float[] {0.5f}, 1);
        run.step(2, x, AFFINE);
        Tensor fresh = Tensor.of(new float[] {0.5f}, 1);
        dpm.start(Sigmas.of(0.9f, 0.6f, 0.3f, 0.1f), null).step(2, fresh, AFFINE);
        assertThat(x.get(0)).isEqualTo(fresh.get(0));
    }

    @Test
    void generalSecondOrderStepMatchesTheFormula() {
        // Uneven levels (r != 1/2): the k-diffusion formula, evaluated in double.
        float s0 = 0.93f;
        float s1 = 0.61f;
        float s2 = 0.17f;
        Sigmas sigmas = Sigmas.of(s0, s1, s2);
        double x = -0.7;
        double v0 = 0.5 * x + 1;
        double d0 = x - s0 * v0;
        double h0 = Math.log(s0) - Math.log(s1);
        x = (s1 / (double) s0) * x - Math.expm1(-h0) * d0;
        double afterFirst = x;
        double v1 = 0.5 * x + 1;
        double d1 = x - s1 * v1;
        double h1 = Math.log(s1) - Math.log(s2);
        double r = h0 / h1;
        double dd = (1 + 1 / (2 * r)) * d1 - (1 / (2 * r)) * d0;
        x = (s2 / (double) s1) * x - Math.expm1(-h1) * dd;

        Tensor t = Tensor.of(new float[] {-0.7f}, 1);
        SamplerRun run = dpm.start(sigmas, null);
        run.step(0, t, AFFINE);
        assertThat((double) t.get(0)).isCloseTo(afterFirst, within(1e-6));
        run.step(1, t, AFFINE);
        assertThat((double) t.get(0)).isCloseTo(x, within(1e-6));
    }

    @Test
    void lastStepReturnsTheDenoisedEstimate() {
        Tensor x = Tensor.of(new float[] {0.3f, -0.9f}, 2);
        SamplerRun run = dpm.start(Sigmas.of(0.5f), null);
        run.step(0, x, (in, sigma) -> Tensor.of(new float[] {1f, 2f}, 2));
        assertThat(x.toArray()).containsExactly(0.3f - 0.5f, -0.9f - 1f);
    }

    @Test
    void runsDoNotShareHistory() {
        Tensor a = Tensor.of(new float[] {2f}, 1);
        SamplerRun first = dpm.start(SIGMAS, null);
        first.step(0, a, AFFINE);
        // A second run's step 1 is first order even though another run just did step 0.
        Tensor b = Tensor.of(new float[] {1.2f}, 1);
        dpm.start(SIGMAS, null).step(1, b, AFFINE);
        assertThat(b.get(0)).isCloseTo(0.72f, within(1e-6f));
    }

    @Test
    void nameIsDpmpp2m() {
        assertThat(dpm.name()).isEqualTo("dpmpp_2m").isEqualTo(DpmPlusPlus2MSampler.NAME);
    }
}
