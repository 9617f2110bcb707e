package org.sd3j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.sd3j.random.TorchGenerator;
import org.sd3j.schedule.Schedule;
import org.sd3j.schedule.Sigmas;
import org.sd3j.schedule.TimeShift;
import org.sd3j.tensor.Tensor;

class StochasticEulerSamplerTest {
    private final Sampler sampler = new StochasticEulerSampler();

    private static NoiseSource constantNoise(float value, int[] calls) {
        return target -> {
            calls[0]++;
            target.fill(value);
        };
    }

    @Nested
    class Arithmetic {
        @Test
        void handComputedSteps() {
            // sigmas 1, 0.5, 0; v = 1 always, noise = 3.
            // step 0: x0 = 2 - 1*1 = 1; x = 0.5*1 + 0.5*3 = 2
            // step 1 (to 0): x = x0 = 2 - 0.5*1 = 1.5, no noise drawn
            int[] calls = {0};
            Tensor x = Tensor.of(new float[] {2f}, 1);
            SamplerRun run = sampler.start(Sigmas.of(1f, 0.5f), constantNoise(3f, calls));
            VelocityModel one = (in, sigma) -> Tensor.full(1f, in.shape());
            run.step(0, x, one);
            assertThat(x.get(0)).isEqualTo(2f);
            assertThat(calls[0]).isEqualTo(1);
            run.step(1, x, one);
            assertThat(x.get(0)).isEqualTo(1.5f);
            assertThat(calls[0]).isEqualTo(1);
        }

        @Test
        void drawsFreshNoiseOncePerStepButTheLast() {
            int[] calls = {0};
            Sigmas sigmas = Schedule.flowMatch().sigmas(28, TimeShift.of(3.0));
            SamplerHarness.run(sampler, sigmas, Tensor.full(0.1f, 1, 8),
                    SamplerHarness.elementwise((x, t) -> -x), constantNoise(0.5f, calls));
            assertThat(calls[0]).isEqualTo(27);
        }

        @Test
        void fillsNoiseShapedLikeTheLatents() {
            int[][] shape = new int[1][];
            Tensor x = Tensor.full(0.1f, 2, 4, 3, 3);
            sampler.start(Sigmas.of(0.8f, 0.4f), target -> shape[0] = target.shape())
                    .step(0, x, (in, s) -> Tensor.zeros(in.shape()));
            assertThat(shape[0]).containsExactly(2, 4, 3, 3);
        }

        @Test
        void renoisesTheDenoisedEstimateToTheNextLevel() {
            // x0 = x - sigma v; x = (1 - sigma_next) x0 + sigma_next eps  (diffusers stochastic_sampling)
            float sigma = 0.75f;
            float next = 0.25f;
            Tensor x = Tensor.of(new float[] {0.5f, -1f}, 2);
            sampler.start(Sigmas.of(sigma, next), target -> target.fill(0f).set(0, 2f))
                    .step(0, x, (in, s) -> Tensor.of(new float[] {0.2f, 0.4f}, 2));
            float x0a = 0.5f - sigma * 0.2f;
            float x0b = -1f - sigma * 0.4f;
            assertThat(x.get(0)).isCloseTo((1 - next) * x0a + next * 2f, within(1e-7f));
            assertThat(x.get(1)).isCloseTo((1 - next) * x0b, within(1e-7f)); // noise 0 there
        }

        @Test
        void rejectsNullNoiseBeforeAnyModelCall() {
            assertThatThrownBy(() -> sampler.start(Sigmas.of(0.5f), null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("noise must be non-null, found null");
        }

        @Test
        void nameIsEulerStochastic() {
            assertThat(sampler.name()).isEqualTo("euler_stochastic").isEqualTo(StochasticEulerSampler.NAME);
        }
    }

    /**
     * Gaussian data N(mu, s^2) through the exact flow field, 200k independent elements, torch-compatible noise.
     * The sampler re-noises the <em>posterior mean</em> E[x0 | x_t] rather than a posterior sample, so the mean
     * is preserved exactly but the spread shrinks: every step maps the variance V of x_t to
     * {@code (1-t')^2 k^2 V + t'^2} with {@code k = (1-t) s^2 / sd(t)^2}, and the last step returns
     * {@code k^2 V}. For s = 0.5 over SD3's 28-step schedule that predicts a std of 0.3152, not 0.5. The test
     * checks the sample statistics against this float64 prediction within 5 standard errors.
     */
    @Nested
    class GaussianStatistics {
        private static final int N = 200_000;
        private final GaussianFlow flow = new GaussianFlow(0.7, 0.5);
        private final Sigmas sigmas = Schedule.flowMatch().sigmas(28, TimeShift.of(3.0));

        /** Predicted {mean, variance} of the result, propagated exactly in float64 from x(1) ~ N(0, 1). */
        private double[] predicted() {
            double mean = 0;
            double var = 1;
            for (int i = 0; i < sigmas.steps(); i++) {
                double t = sigmas.get(i);
                double next = sigmas.get(i + 1);
                double k = flow.posteriorSlope(t);
                double meanX0 = flow.mu() + k * (mean - flow.mean(t));
                double varX0 = k * k * var;
                if (next == 0) {
                    return new double[] {meanX0, varX0};
                }
                mean = (1 - next) * meanX0;
                var = (1 - next) * (1 - next) * varX0 + next * next;
            }
            throw new AssertionError("schedule does not end at 0");
        }

        private double[] sampleMeanAndStd(long seed) {
            Tensor x = Tensor.zeros(1, N);
            new TorchGenerator(seed).fillNormal(x.asFloatBuffer(), 0, N);
            TorchGenerator gen = new TorchGenerator(seed + 1);
            NoiseSource noise = t -> gen.fillNormal(t.asFloatBuffer(), 0, t.size());
            SamplerHarness.run(sampler, sigmas, x, SamplerHarness.elementwise(flow), noise);
            double sum = 0;
            double sumSq = 0;
            for (int i = 0; i < N; i++) {
                double v = x.get(i);
                sum += v;
                sumSq += v * v;
            }
            double mean = sum / N;
            return new double[] {mean, Math.sqrt(sumSq / N - mean * mean)};
        }

        @Test
        void predictionPreservesTheMeanAndShrinksTheSpread() {
            double[] p = predicted();
            assertThat(p[0]).isCloseTo(0.7, within(1e-12));
            assertThat(Math.sqrt(p[1])).isCloseTo(0.3152, within(1e-3)).isLessThan(0.5 * 0.7);
        }

        @Test
        void sampleMeanMatchesMu() {
            double[] p = predicted();
            double standardError = Math.sqrt(p[1] / N);
            assertThat(sampleMeanAndStd(123)[0]).isCloseTo(flow.mu(), within(5 * standardError));
        }

        @Test
        void sampleStdMatchesThePrediction() {
            double[] p = predicted();
            double std = Math.sqrt(p[1]);
            double standardError = std / Math.sqrt(2.0 * N); // std error of a Gaussian sample std
            assertThat(sampleMeanAndStd(456)[1]).isCloseTo(std, within(5 * standardError));
        }

        @Test
        void deterministicSamplersKeepTheDataStd() {
            // Contrast: the ODE samplers map N(0,1) to N(mu, s^2) (up to their discretisation error).
            Tensor x = Tensor.zeros(1, 20_000);
            new TorchGenerator(9).fillNormal(x.asFloatBuffer(), 0, x.size());
            SamplerHarness.run(new FlowMatchHeunSampler(), sigmas, x, SamplerHarness.elementwise(flow), null);
            double sum = 0;
            double sumSq = 0;
            for (int i = 0; i < x.size(); i++) {
                sum += x.get(i);
                sumSq += (double) x.get(i) * x.get(i);
            }
            double mean = sum / x.size();
            double std = Math.sqrt(sumSq / x.size() - mean * mean);
            assertThat(std).isCloseTo(0.5, within(0.02));
            assertThat(mean).isCloseTo(0.7, within(0.02));
        }
    }
}
