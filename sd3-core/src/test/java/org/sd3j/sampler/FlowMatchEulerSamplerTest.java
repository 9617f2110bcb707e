package org.sd3j.sampler;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.sd3j.random.TorchGenerator;
import org.sd3j.schedule.Schedule;
import org.sd3j.schedule.Sigmas;
import org.sd3j.schedule.TimeShift;
import org.sd3j.tensor.Tensor;

class FlowMatchEulerSamplerTest {
    private final Sampler euler = new FlowMatchEulerSampler();

    @Test
    void handComputedSteps() {
        // sigmas 1, 0.5, 0; v = x: x = 2 -> 2 + (-0.5)*2 = 1 -> 1 + (-0.5)*1 = 0.5
        Tensor x = Tensor.of(new float[] {2f}, 1);
        SamplerRun run = euler.start(Sigmas.of(1f, 0.5f), SamplerHarness.NO_NOISE);
        VelocityModel identity = (in, sigma) -> in.copy();
        run.step(0, x, identity);
        assertThat(x.get(0)).isEqualTo(1f);
        run.step(1, x, identity);
        assertThat(x.get(0)).isEqualTo(0.5f);
    }

    @Test
    void isFloat32ArithmeticBitForBit() {
        // diffusers: prev_sample = sample + (sigma_next - sigma) * model_output, everything float32.
        Sigmas sigmas = Schedule.flowMatch().sigmas(28, TimeShift.of(3.0));
        int n = 4096;
        Tensor x = Tensor.zeros(1, n);
        TorchGenerator gen = new TorchGenerator(2024);
        gen.fillNormal(x.asFloatBuffer(), 0, n);
        float[] expected = x.toArray();
        VelocityModel model = (in, sigma) -> {
            Tensor v = Tensor.zeros(in.shape());
            for (int i = 0; i < n; i++) {
                v.set(i, (float) Math.sin(in.get(i) * 3.7 + sigma) * 1.3f);
            }
            return v;
        };
        SamplerRun run = euler.start(sigmas, SamplerHarness.NO_NOISE);
        for (int step = 0; step < sigmas.steps(); step++) {
            float sigma = sigmas.get(step);
            float dt = sigmas.get(step + 1) - sigma; // float subtraction
            Tensor v = model.velocity(Tensor.of(expected.clone(), 1, n), sigma);
            for (int i = 0; i < n; i++) {
                expected[i] = expected[i] + dt * v.get(i); // float multiply-add, no fused rounding
            }
            run.step(step, x, model);
            for (int i = 0; i < n; i++) {
                assertThat(Float.floatToIntBits(x.get(i))).as("step %d element %d", step, i)
                        .isEqualTo(Float.floatToIntBits(expected[i]));
            }
        }
    }

    @Test
    void roundsLikeFloat32NotLikeDouble() {
        // Values where float32 x + dt*v (two roundings) differs from the double expression rounded once.
        float x0 = 0.41163054f;
        float v = 1.0425134f;
        float dt = 0.6021506f - 0.8576924f;
        float inFloat = x0 + dt * v;
        float inDouble = (float) ((double) x0 + (double) dt * v);
        assertThat(inFloat).as("the case discriminates").isNotEqualTo(inDouble);

        Tensor x = Tensor.of(new float[] {x0}, 1);
        euler.start(Sigmas.of(0.8576924f, 0.6021506f), null).step(0, x, (in, s) -> Tensor.of(new float[] {v}, 1));
        assertThat(x.get(0)).isEqualTo(inFloat);
    }

    @Test
    void callsTheModelWithTheCurrentLatentsAndLevel() {
        Tensor x = Tensor.of(new float[] {0.25f, -0.5f}, 1, 2);
        float[][] seen = new float[1][];
        float[] seenSigma = new float[1];
        euler.start(Sigmas.of(0.7f, 0.2f), null).step(0, x, (in, sigma) -> {
            seen[0] = in.toArray();
            seenSigma[0] = sigma;
            return Tensor.zeros(in.shape());
        });
        assertThat(seen[0]).containsExactly(0.25f, -0.5f);
        assertThat(seenSigma[0]).isEqualTo(0.7f);
        assertThat(x.toArray()).containsExactly(0.25f, -0.5f); // zero velocity: unchanged
    }

    @Test
    void nameIsEuler() {
        assertThat(euler.name()).isEqualTo("euler").isEqualTo(FlowMatchEulerSampler.NAME);
    }
}
