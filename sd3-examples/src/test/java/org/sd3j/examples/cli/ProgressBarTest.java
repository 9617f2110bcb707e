package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.sd3j.Generation;
import org.sd3j.GenerationCanceledException;
import org.sd3j.Sd3Pipeline;
import org.sd3j.model.Denoiser;
import org.sd3j.model.LatentFormat;
import org.sd3j.tensor.Tensor;

class ProgressBarTest {
    private static final String NL = System.lineSeparator();

    @Test
    void aLineShowsStepsBarRateAndEta() {
        assertThat(ProgressBar.line(7, 28, Duration.ofMillis(4600)))
                .isEqualTo("step 7/28 [#####---------------] 1.52 it/s, ETA 0:14");
        assertThat(ProgressBar.line(28, 28, Duration.ofMillis(18_000)))
                .isEqualTo("step 28/28 [####################] 1.56 it/s, ETA 0:00");
    }

    @Test
    void slowStepsReadAsSecondsPerStep() {
        assertThat(ProgressBar.line(2, 28, Duration.ofSeconds(25)))
                .isEqualTo("step 2/28 [#-------------------] 12.50 s/it, ETA 5:25");
    }

    @Test
    void onATerminalTheLineIsRedrawnInPlace() {
        StringWriter text = new StringWriter();
        ProgressBar bar = new ProgressBar(new PrintWriter(text), true, () -> 0L);

        run(bar, 3);

        String s = text.toString();
        assertThat(s).startsWith("\rstep 1/3 [######--------------] ").contains("\rstep 2/3 [#############-------] ")
                .contains("\rstep 3/3 [####################] ").endsWith(NL);
        assertThat(s.indexOf(NL)).as("one line, ended once").isEqualTo(s.length() - NL.length());
    }

    @Test
    void elsewherePlainLinesForTheFirstAndLastStepAndEveryTenSeconds() {
        StringWriter text = new StringWriter();
        AtomicLong now = new AtomicLong();
        ProgressBar bar = new ProgressBar(new PrintWriter(text), false, now::get);
        // 6 steps, 4 s apart: printed at step 1 (0 s), step 4 (12 s: 10 s after step 1) and step 6 (last).
        Sd3Pipeline pipeline = pipeline(bar, 6, () -> now.addAndGet(Duration.ofSeconds(4).toNanos()));

        pipeline.generate("x");

        assertThat(text.toString().lines().map(l -> l.substring(0, l.indexOf(" ["))))
                .containsExactly("step 1/6", "step 4/6", "step 6/6");
        assertThat(text.toString()).doesNotContain("\r");
    }

    @Test
    void aCanceledRunEndsTheTerminalLine() {
        StringWriter text = new StringWriter();
        ProgressBar bar = new ProgressBar(new PrintWriter(text), true, () -> 0L);
        java.util.concurrent.atomic.AtomicReference<Generation> handle = new java.util.concurrent.atomic.AtomicReference<>();
        AtomicLong calls = new AtomicLong();
        Generation g = pipeline(bar, 3, () -> {
            if (calls.incrementAndGet() == 2) {
                handle.get().cancel(); // as Ctrl-C does: the next step does not start
            }
        }).newGeneration(org.sd3j.GenerationRequest.of("x"));
        handle.set(g);

        org.assertj.core.api.Assertions.assertThatThrownBy(g::execute)
                .isInstanceOf(GenerationCanceledException.class);

        assertThat(text.toString()).contains("\rstep 2/3").endsWith(NL).doesNotContain("step 3/3");
    }

    private static void run(ProgressBar bar, int steps) {
        pipeline(bar, steps, () -> { }).generate("x");
    }

    /** A fake pipeline (no VAE) with {@code steps} steps; {@code eachStep} runs before every denoiser call. */
    private static Sd3Pipeline pipeline(ProgressBar bar, int steps, Runnable eachStep) {
        Denoiser denoiser = (latents, t, c) -> {
            eachStep.run();
            return Tensor.zeros(latents.shape());
        };
        return Sd3Pipeline.builder().denoiser(denoiser).latentFormat(LatentFormat.SD3).steps(steps).size(64, 64)
                .guidance(1.0).seed(1).listener(bar).build();
    }
}
