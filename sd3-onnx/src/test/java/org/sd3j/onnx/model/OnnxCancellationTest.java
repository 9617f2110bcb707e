package org.sd3j.onnx.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.BackendException;
import org.sd3j.Generation;
import org.sd3j.GenerationCanceledException;
import org.sd3j.GenerationRequest;
import org.sd3j.Sd3Pipeline;
import org.sd3j.onnx.mmdit.RandomCheckpoint;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.runtime.OnnxRunStatistics;
import org.sd3j.onnx.safetensors.DType;

/**
 * {@code Generation.cancel()} terminates the ONNX Runtime call in flight ({@code RunOptions.setTerminate}) instead
 * of waiting for it: the denoiser here takes long per call (depth 4, 128x128 latents, CFG batch 2), and the
 * generation ends long before that call would have.
 */
@Timeout(120)
class OnnxCancellationTest {
    @TempDir
    Path dir;
    private final ExecutorService executor = Executors.newSingleThreadExecutor();

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    @Test
    void cancelAbortsTheDenoiserCallInFlight() throws Exception {
        Path ckpt = RandomCheckpoint.write(dir.resolve("mmdit.safetensors"), 4, 256, 128, 64, false, Set.of(),
                DType.F32, 7L);
        OnnxRunStatistics runs = new OnnxRunStatistics();
        try (Sd3Model model = Sd3Model.load(ckpt, OnnxOptions.builder().runListener(runs).build())) {
            Sd3Pipeline pipeline = model.pipelineBuilder().size(1024, 1024).build();
            GenerationRequest request = GenerationRequest.builder("a red fox").seed(1).steps(50).build();
            // One call for scale: how long an uninterrupted forward takes here.
            pipeline.generate(request.toBuilder().steps(1).build());
            long callNanos = runs.time().toNanos() / runs.calls();

            Generation g = pipeline.newGeneration(request);
            Future<GenerationCanceledException> f = executor.submit(
                    () -> catchThrowableOfType(GenerationCanceledException.class, g::execute));
            long calls = runs.calls();
            while (runs.calls() < calls + 1) { // the first step done: the second call is starting
                Thread.sleep(1);
            }
            Thread.sleep(Math.max(1, callNanos / 4_000_000)); // a quarter into the second call
            long canceledAt = System.nanoTime();
            g.cancel();
            GenerationCanceledException e = f.get(60, TimeUnit.SECONDS);
            long afterCancel = System.nanoTime() - canceledAt;
            org.slf4j.LoggerFactory.getLogger(OnnxCancellationTest.class).info(
                    "A denoiser call takes {} ms; the generation ended {} ms after cancel()", callNanos / 1_000_000,
                    afterCancel / 1_000_000);

            assertThat(e).isNotNull().hasMessage("Generation canceled after 1 steps");
            // The call was terminated, not completed: ONNX Runtime's terminate error is attached...
            assertThat(e.getSuppressed()).singleElement().isInstanceOf(BackendException.class)
                    .satisfies(s -> assertThat(s.getMessage()).containsIgnoringCase("terminate"));
            assertThat(runs.calls()).isEqualTo(calls + 1);
            // ...and the generation ended well before the rest of that call would have run.
            assertThat(afterCancel).as("ns from cancel() to the exception, a call takes " + callNanos)
                    .isLessThan(callNanos / 2);
        }
    }
}
