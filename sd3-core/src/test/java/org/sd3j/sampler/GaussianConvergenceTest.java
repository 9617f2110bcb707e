package org.sd3j.sampler;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.function.IntFunction;
import java.util.function.Supplier;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.sd3j.schedule.Schedule;
import org.sd3j.schedule.Sigmas;
import org.sd3j.schedule.TimeShift;
import org.sd3j.tensor.Tensor;

/**
 * Convergence of the deterministic samplers on the exact flow of Gaussian data N(0.7, 0.5^2), whose ODE solution
 * is known in closed form ({@link GaussianFlow}). The error against the float64 exact end point must shrink with
 * the step count at the sampler's order: doubling N divides a first-order error by ~2 and a second-order one by
 * ~4. Measured ratios (float32 samplers, see the printed lines) are 1.9-2.03 for Euler and 3.5-4.9 for Heun
 * and DPM++ 2M; the bounds below are 1.7 < r < 2.3 (first order, and not better) and 3.3 < r < 5.5 (second order).
 */
class GaussianConvergenceTest {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(GaussianConvergenceTest.class);

    private static final GaussianFlow FLOW = new GaussianFlow(0.7, 0.5);
    private static final float[] STARTS = {-2.5f, -1f, -0.3f, 0f, 0.4f, 1f, 1.7f, 2.5f};

    private static double maxError(Sampler sampler, Sigmas sigmas) {
        Tensor x = Tensor.of(STARTS.clone(), 1, STARTS.length);
        SamplerHarness.run(sampler, sigmas, x, SamplerHarness.elementwise(FLOW), SamplerHarness.NO_NOISE);
        double max = 0;
        for (int i = 0; i < STARTS.length; i++) {
            max = Math.max(max, Math.abs(x.get(i) - FLOW.exactEnd(STARTS[i])));
        }
        return max;
    }

    /** Errors at N = 10, 20, 40 and the two ratios err(N) / err(2N). */
    private static double[] ratios(String label, Supplier<Sampler> sampler, IntFunction<Sigmas> schedule) {
        return ratios(label, sampler, schedule, 10);
    }

    /** Errors at N = n, 2n, 4n and the two ratios err(N) / err(2N). */
    private static double[] ratios(String label, Supplier<Sampler> sampler, IntFunction<Sigmas> schedule, int n) {
        double e1 = maxError(sampler.get(), schedule.apply(n));
        double e2 = maxError(sampler.get(), schedule.apply(2 * n));
        double e4 = maxError(sampler.get(), schedule.apply(4 * n));
        double[] r = {e1 / e2, e2 / e4};
        LOG.info(String.format(java.util.Locale.ROOT,
                "convergence %-30s err(%d)=%.3e err(%d)=%.3e err(%d)=%.3e ratios %.2f %.2f", label, n, e1,
                2 * n, e2, 4 * n, e4, r[0], r[1]));
        return r;
    }

    private static Sigmas flowMatch(int steps) {
        return Schedule.flowMatch().sigmas(steps, TimeShift.NONE);
    }

    /** Uniform in unshifted time, shifted by 3, ending exactly at 0 (no fixed tiny last step). */
    private static Sigmas shiftedUniform(int steps) {
        TimeShift shift = TimeShift.of(3.0);
        float[] s = new float[steps + 1];
        for (int i = 0; i < steps; i++) {
            s[i] = (float) shift.apply(1.0 - (double) i / steps);
        }
        return Sigmas.of(s);
    }

    /** sigma from 1 down to 1e-3 geometrically over steps - 1 intervals, then 0. */
    private static Sigmas logUniform(int steps) {
        float[] s = new float[steps + 1];
        for (int i = 0; i < steps; i++) {
            s[i] = (float) Math.pow(1e-3, (double) i / (steps - 1));
        }
        return Sigmas.of(s);
    }

    private static void assertFirstOrder(double[] r) {
        for (double ratio : r) {
            assertThat(ratio).isBetween(1.7, 2.3);
        }
    }

    private static void assertSecondOrder(double[] r) {
        for (double ratio : r) {
            assertThat(ratio).isBetween(3.3, 5.5);
        }
    }

    @Nested
    class Euler {
        @Test
        void isFirstOrderOnTheUnshiftedFlowMatchSchedule() {
            assertFirstOrder(ratios("euler flow_match shift 1", FlowMatchEulerSampler::new,
                    GaussianConvergenceTest::flowMatch));
        }

        @Test
        void isFirstOrderOnTheSd3Schedule() {
            assertFirstOrder(ratios("euler flow_match shift 3", FlowMatchEulerSampler::new,
                    n -> Schedule.flowMatch().sigmas(n, TimeShift.of(3.0))));
        }

        @Test
        void isFirstOrderOnAShiftedUniformSchedule() {
            assertFirstOrder(ratios("euler shifted uniform", FlowMatchEulerSampler::new,
                    GaussianConvergenceTest::shiftedUniform));
        }
    }

    @Nested
    class Heun {
        @Test
        void isSecondOrderOnTheUnshiftedFlowMatchSchedule() {
            assertSecondOrder(ratios("heun flow_match shift 1", FlowMatchHeunSampler::new,
                    GaussianConvergenceTest::flowMatch));
        }

        @Test
        void isSecondOrderOnAShiftedUniformSchedule() {
            assertSecondOrder(ratios("heun shifted uniform", FlowMatchHeunSampler::new,
                    GaussianConvergenceTest::shiftedUniform));
        }

        @Test
        void beatsEulerByFarAtFortySteps() {
            double heun = maxError(new FlowMatchHeunSampler(), flowMatch(40));
            double euler = maxError(new FlowMatchEulerSampler(), flowMatch(40));
            assertThat(heun).isLessThan(euler / 20);
            assertThat(heun).isLessThan(1e-3);
        }
    }

    @Nested
    class DpmPlusPlus2M {
        @Test
        void isSecondOrderOnTheUnshiftedFlowMatchSchedule() {
            assertSecondOrder(ratios("dpmpp_2m flow_match shift 1", DpmPlusPlus2MSampler::new,
                    GaussianConvergenceTest::flowMatch));
        }

        @Test
        void isSecondOrderOnALogUniformSchedule() {
            // Uniform steps in lambda = -ln sigma, the variable DPM-Solver integrates in. Two error terms of
            // opposite sign cross between 10 and 20 steps (the float64 error changes sign there too), so the
            // asymptotic order is measured from 40 steps on: ratios 3.5, 3.9.
            assertSecondOrder(ratios("dpmpp_2m log-uniform", DpmPlusPlus2MSampler::new,
                    GaussianConvergenceTest::logUniform, 40));
        }
    }

    @Test
    void fieldIsTheExactFlowOfTheGaussian() {
        // Sanity of the test field itself: a fine RK4 integration in double lands on mu + s*x1.
        double x = 1.3;
        int n = 20000;
        for (int i = 0; i < n; i++) {
            double t = 1.0 - (double) i / n;
            double h = -1.0 / n;
            double k1 = FLOW.v(x, t);
            double k2 = FLOW.v(x + h / 2 * k1, t + h / 2);
            double k3 = FLOW.v(x + h / 2 * k2, t + h / 2);
            double k4 = FLOW.v(x + h * k3, t + h);
            x += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
        }
        assertThat(x).isCloseTo(FLOW.exactEnd(1.3), org.assertj.core.api.Assertions.within(1e-9));
    }
}
