package org.sd3j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sd3j.random.TorchGenerator;
import org.sd3j.schedule.Schedule;
import org.sd3j.schedule.Sigmas;
import org.sd3j.schedule.TimeShift;
import org.sd3j.tensor.Tensor;

/**
 * Velocity fields whose flow every sampler must follow exactly (up to float32 rounding, 1e-5 absolute):
 * <ul>
 *   <li>point-mass data x0: {@code v(x, t) = (x - x0)/t}; the denoised estimate {@code x - t v} is x0 from any
 *       point, so every sampler, the stochastic one with any noise included, ends at x0;</li>
 *   <li>a constant velocity c: {@code x(t) = x(1) + (t - 1) c}, integrated exactly by every deterministic
 *       sampler (Euler and Heun trivially, DPM++ 2M because the denoised estimate {@code x(1) - c} is
 *       constant).</li>
 * </ul>
 */
class ExactSolutionTest {
    private static final float[] X0 = {0.25f, -1.5f, 3f, 0f, -0.125f, 0.8f};
    private static final float[] C = {1f, -0.5f, 2.25f, 0f, -3f, 0.1f};
    private static final float TOLERANCE = 1e-5f;

    static List<Sigmas> schedules() {
        return List.of(
                Schedule.flowMatch().sigmas(28, TimeShift.of(3.0)),
                Schedule.flowMatch().sigmas(4, TimeShift.NONE),
                Schedule.flowMatch().sigmas(1, TimeShift.of(3.0)),
                Schedule.flowMatch().sigmas(9, TimeShift.dynamic(1.15)),
                Sigmas.of(0.9f, 0.3f),
                Sigmas.of(0.6f, 0.5f, 0.45f, 0.01f));
    }

    static Stream<Arguments> allSamplersAndSchedules() {
        List<Arguments> out = new ArrayList<>();
        for (Sampler s : SamplerHarness.builtIns()) {
            for (Sigmas sigmas : schedules()) {
                out.add(Arguments.of(s.name(), sigmas));
            }
        }
        return out.stream();
    }

    static Stream<Arguments> deterministicSamplersAndSchedules() {
        return allSamplersAndSchedules().filter(a -> !a.get()[0].equals(StochasticEulerSampler.NAME));
    }

    private static Sampler sampler(String name) {
        return Samplers.forName(name, ExactSolutionTest.class.getClassLoader());
    }

    private static VelocityModel pointMass() {
        return (x, sigma) -> {
            Tensor v = Tensor.zeros(x.shape());
            for (int i = 0; i < x.size(); i++) {
                v.set(i, (x.get(i) - X0[i % X0.length]) / sigma);
            }
            return v;
        };
    }

    private static Tensor startAt(long seed, float scale) {
        Tensor x = Tensor.zeros(2, X0.length);
        new TorchGenerator(seed).fillNormal(x.asFloatBuffer(), 0, x.size());
        return x.scale(scale);
    }

    /** Noise that is anything but Gaussian: large, skewed, changing every call. */
    private static NoiseSource wildNoise() {
        float[] calls = {0};
        return target -> {
            calls[0]++;
            for (int i = 0; i < target.size(); i++) {
                target.set(i, calls[0] * 2.5f + (i % 3) - 7f);
            }
        };
    }

    @ParameterizedTest(name = "{0} over {1}")
    @MethodSource("allSamplersAndSchedules")
    void pointMassEndsAtTheDataPoint(String name, Sigmas sigmas) {
        Tensor x = startAt(42, 1f);
        NoiseSource noise = target -> new TorchGenerator(7).fillNormal(target.asFloatBuffer(), 0, target.size());
        SamplerHarness.run(sampler(name), sigmas, x, pointMass(), noise);
        for (int i = 0; i < x.size(); i++) {
            assertThat(x.get(i)).as("element %d", i).isCloseTo(X0[i % X0.length], within(TOLERANCE));
        }
    }

    @ParameterizedTest(name = "{0} over {1}")
    @MethodSource("allSamplersAndSchedules")
    void pointMassEndsAtTheDataPointFromAFarStartWithAnyNoise(String name, Sigmas sigmas) {
        Tensor x = startAt(3, 4f);
        SamplerHarness.run(sampler(name), sigmas, x, pointMass(), wildNoise());
        for (int i = 0; i < x.size(); i++) {
            assertThat(x.get(i)).as("element %d", i).isCloseTo(X0[i % X0.length], within(TOLERANCE));
        }
    }

    @ParameterizedTest(name = "{0} over {1}")
    @MethodSource("allSamplersAndSchedules")
    void pointMassImg2ImgRunEndsAtTheDataPoint(String name, Sigmas sigmas) {
        int start = sigmas.startIndexForStrength(0.6);
        Tensor x = startAt(11, 1f);
        SamplerHarness.run(sampler(name), sigmas, x, pointMass(), wildNoise(), start);
        for (int i = 0; i < x.size(); i++) {
            assertThat(x.get(i)).as("element %d", i).isCloseTo(X0[i % X0.length], within(TOLERANCE));
        }
    }

    @ParameterizedTest(name = "{0} over {1}")
    @MethodSource("deterministicSamplersAndSchedules")
    void constantVelocityIsIntegratedExactly(String name, Sigmas sigmas) {
        Tensor x = startAt(5, 1f);
        float[] x1 = x.toArray();
        VelocityModel constant = (in, sigma) -> {
            Tensor v = Tensor.zeros(in.shape());
            for (int i = 0; i < v.size(); i++) {
                v.set(i, C[i % C.length]);
            }
            return v;
        };
        SamplerHarness.run(sampler(name), sigmas, x, constant, SamplerHarness.NO_NOISE);
        // x(0) = x(t_start) + (0 - t_start) c
        float t0 = sigmas.get(0);
        for (int i = 0; i < x.size(); i++) {
            assertThat(x.get(i)).as("element %d", i).isCloseTo(x1[i] - t0 * C[i % C.length], within(TOLERANCE));
        }
    }

    @ParameterizedTest(name = "{0} over {1}")
    @MethodSource("deterministicSamplersAndSchedules")
    void constantVelocityIsExactAtEveryLevel(String name, Sigmas sigmas) {
        Tensor x = startAt(8, 1f);
        float[] x1 = x.toArray();
        VelocityModel constant = (in, sigma) -> Tensor.full(1.5f, in.shape());
        SamplerRun run = sampler(name).start(sigmas, SamplerHarness.NO_NOISE);
        for (int step = 0; step < sigmas.steps(); step++) {
            run.step(step, x, constant);
            float travelled = sigmas.get(step + 1) - sigmas.get(0);
            for (int i = 0; i < x.size(); i++) {
                assertThat(x.get(i)).as("step %d element %d", step, i)
                        .isCloseTo(x1[i] + travelled * 1.5f, within(TOLERANCE));
            }
        }
    }
}
