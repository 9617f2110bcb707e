package org.sd3j;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.conditioning.PromptEncoder;
import org.sd3j.model.Denoiser;
import org.sd3j.sampler.SamplerRun;
import org.sd3j.sampler.Samplers;
import org.sd3j.schedule.Schedule;
import org.sd3j.schedule.Sigmas;
import org.sd3j.schedule.TimeShift;
import org.sd3j.tensor.Tensor;

/**
 * The core's own per-step overhead at 1024x1024 (latent 16x128x128) with classifier-free guidance on: CFG
 * batching of the latents, timesteps, the cancellation check, output checks, the CFG combination and the sampler
 * update, around a denoiser that does nothing (it returns a preallocated zero velocity). Target: under 2 ms.
 *
 * <p>Run: {@code mvn -pl sd3-core -Pbench verify} (JMH options: {@code -Djmh.args="..."}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(1)
public class SamplingStepBenchmark {

    @Param({"euler", "heun", "dpmpp_2m"})
    public String sampler;

    private SamplerRun run;
    private GuidedVelocity model;
    private Tensor x;
    private Sigmas sigmas;
    private int step;

    /** A denoiser that costs nothing: the zero velocity is allocated once. */
    static final class NoOpDenoiser implements Denoiser {
        private Tensor out;

        @Override
        public Tensor velocity(Tensor latents, Tensor timesteps, Conditioning conditioning) {
            if (out == null || !out.hasShape(latents.shape())) {
                out = Tensor.zeros(latents.shape());
            }
            return out;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        int[] shape = {1, 16, 128, 128};
        PromptEncoder encoder = new PromptEncoder(ConditioningLayout.sd3(), java.util.List.of());
        Conditioning positive = encoder.encode(java.util.List.of("a red fox"));
        Conditioning negative = encoder.encode(java.util.List.of(""));
        sigmas = Schedule.flowMatch().sigmas(28, TimeShift.of(3.0));
        Generation handle = new Generation(null, GenerationRequest.of("bench"));
        model = new GuidedVelocity(new NoOpDenoiser(), positive, negative, 7.0, null, handle, shape,
                GuidanceBatching.BATCHED);
        x = Tensor.zeros(shape);
        new BatchNoise(42, 1).fillNormal(x);
        run = Samplers.forName(sampler).start(sigmas, new BatchNoise(7, 1));
    }

    @Benchmark
    public Tensor step() {
        // Cycle through the schedule's first 27 steps (the last one, to sigma 0, takes another branch).
        int i = step;
        step = (step + 1) % (sigmas.steps() - 1);
        model.beginStep(i, i, sigmas.steps());
        run.step(i, x, model);
        return x;
    }
}
