package org.sd3j.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.sd3j.random.TorchGenerator;
import org.sd3j.schedule.Schedule;
import org.sd3j.schedule.Sigmas;
import org.sd3j.schedule.TimeShift;
import org.sd3j.tensor.Tensor;

/** Properties every built-in sampler shares: model calls, the sigmas it asks for, purity of its inputs. */
class SamplerContractTest {
    private static final Sigmas SD3 = Schedule.flowMatch().sigmas(28, TimeShift.of(3.0));
    private static final NoiseSource NOISE =
            target -> new TorchGenerator(1).fillNormal(target.asFloatBuffer(), 0, target.size());

    static Stream<Sampler> samplers() {
        return SamplerHarness.builtIns().stream();
    }

    private static SamplerHarness.Recording linearModel() {
        return new SamplerHarness.Recording(SamplerHarness.elementwise((x, t) -> 0.3 * x - 0.2));
    }

    private static int expectedCalls(Sampler sampler, int steps) {
        // Heun: predictor + corrector per step, but the final step to sigma 0 is a single Euler evaluation.
        return sampler instanceof FlowMatchHeunSampler ? 2 * steps - 1 : steps;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("samplers")
    void callsTheModelTheExpectedNumberOfTimes(Sampler sampler) {
        SamplerHarness.Recording model = linearModel();
        SamplerHarness.run(sampler, SD3, Tensor.full(0.5f, 1, 4), model, NOISE);
        assertThat(model.calls()).isEqualTo(expectedCalls(sampler, 28));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("samplers")
    void callsTheModelOncePerStepOrTwiceForHeunExceptTheLast(Sampler sampler) {
        SamplerHarness.Recording model = linearModel();
        SamplerRun run = sampler.start(SD3, NOISE);
        Tensor x = Tensor.full(0.5f, 1, 4);
        boolean heun = sampler instanceof FlowMatchHeunSampler;
        for (int i = 0; i < SD3.steps(); i++) {
            int before = model.calls();
            run.step(i, x, model);
            int expected = heun && i < SD3.steps() - 1 ? 2 : 1;
            assertThat(model.calls() - before).as("calls at step %d", i).isEqualTo(expected);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("samplers")
    void img2ImgRunCallsTheModelOnlyForTheRemainingSteps(Sampler sampler) {
        SamplerHarness.Recording model = linearModel();
        int start = SD3.startIndexForStrength(0.6);
        SamplerHarness.run(sampler, SD3, Tensor.full(0.5f, 1, 4), model, NOISE, start);
        assertThat(model.calls()).isEqualTo(expectedCalls(sampler, 17));
        assertThat(model.sigmas.get(0)).isEqualTo(SD3.get(11));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("samplers")
    void asksOnlyForScheduleLevelsAboveZero(Sampler sampler) {
        SamplerHarness.Recording model = linearModel();
        SamplerHarness.run(sampler, SD3, Tensor.full(0.5f, 1, 4), model, NOISE);
        Set<Float> levels = new HashSet<>();
        for (int i = 0; i < SD3.steps(); i++) {
            levels.add(SD3.get(i)); // every level but the final 0
        }
        assertThat(model.sigmas).allSatisfy(s -> assertThat(levels).contains(s));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("samplers")
    void evaluatesStepIAtSigmaIFirst(Sampler sampler) {
        SamplerHarness.Recording model = linearModel();
        SamplerRun run = sampler.start(SD3, NOISE);
        Tensor x = Tensor.full(0.5f, 1, 4);
        for (int i = 0; i < SD3.steps(); i++) {
            int before = model.calls();
            run.step(i, x, model);
            assertThat(model.sigmas.get(before)).isEqualTo(SD3.get(i));
            if (model.calls() - before == 2) {
                assertThat(model.sigmas.get(before + 1)).as("Heun predictor level").isEqualTo(SD3.get(i + 1));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("samplers")
    void runsAreIndependentAndRepeatable(Sampler sampler) {
        Tensor x = Tensor.full(0.5f, 2, 3);
        VelocityModel model = (in, sigma) -> {
            assertThat(in.allFinite()).isTrue();
            Tensor v = Tensor.zeros(in.shape());
            for (int i = 0; i < in.size(); i++) {
                v.set(i, in.get(i) * 0.1f + 0.05f);
            }
            return v;
        };
        Tensor y = x.copy();
        SamplerHarness.run(sampler, SD3, x, model, NOISE);
        SamplerHarness.run(sampler, SD3, y, model, NOISE);
        assertThat(x.toArray()).containsExactly(y.toArray()); // runs are independent and repeatable
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("samplers")
    void keepsTheShape(Sampler sampler) {
        Tensor x = Tensor.full(0.5f, 2, 16, 4, 4);
        SamplerHarness.run(sampler, Schedule.flowMatch().sigmas(3, TimeShift.of(3)), x, linearModel(), NOISE);
        assertThat(x.shape()).containsExactly(2, 16, 4, 4);
        assertThat(x.allFinite()).isTrue();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("samplers")
    void rejectsNullSigmas(Sampler sampler) {
        assertThatThrownBy(() -> sampler.start(null, NOISE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("sigmas must be non-null, found null");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("samplers")
    void nameIsLowerCaseAndToStringIsTheName(Sampler sampler) {
        assertThat(sampler.name()).isEqualTo(sampler.name().toLowerCase(java.util.Locale.ROOT));
        assertThat(sampler).hasToString(sampler.name());
    }

    @Test
    void deterministicSamplersIgnoreANullNoiseSource() {
        for (Sampler s : SamplerHarness.deterministic()) {
            Tensor x = Tensor.full(0.5f, 1, 2);
            SamplerHarness.run(s, SD3, x, linearModel(), null);
            assertThat(x.allFinite()).as(s.name()).isTrue();
        }
    }
}
