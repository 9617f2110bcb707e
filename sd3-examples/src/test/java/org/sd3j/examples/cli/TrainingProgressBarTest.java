package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.sd3j.train.TrainingProgress;

class TrainingProgressBarTest {
    private static final String NL = System.lineSeparator();
    private static final Path CHECKPOINT = Path.of("fox.safetensors.d", "checkpoint.safetensors");

    @Test
    void aLineShowsStepsBarLossesRateAndEta() {
        assertThat(TrainingProgressBar.line(37, 1000, 0.42131, 0.39774, 1e-4, Duration.ofMillis(24_340), 37))
                .isEqualTo("step 37/1000 [--------------------] loss 0.4213 (last 0.3977), lr 1.00e-04, 1.52 it/s, "
                        + "ETA 10:33");
    }

    @Test
    void rateAndEtaCountOnlyTheStepsOfThisProcess() {
        // Resumed at 500: 10 steps in 20 s is 2 s/it, 490 steps to go.
        assertThat(TrainingProgressBar.line(510, 1000, 1, 1, 1e-4, Duration.ofSeconds(20), 10))
                .endsWith("2.00 s/it, ETA 16:20");
    }

    @Test
    void theLossIsSmoothedByAMovingAverageStartingAtTheFirstLoss() {
        TrainingProgressBar bar = new TrainingProgressBar(new PrintWriter(new StringWriter()), false, () -> 0L,
                CHECKPOINT);
        bar.onStart(0, 10);
        bar.onStep(step(1, 10, 2.0));
        bar.onStep(step(2, 10, 1.0));

        assertThat(bar.smoothedLoss()).isCloseTo(0.9 * 2.0 + 0.1 * 1.0, Offset.offset(1e-12));
        assertThat(bar.lastLoss()).isEqualTo(1.0);
        assertThat(bar.stepsRun()).isEqualTo(2);
    }

    @Test
    void onATerminalMessagesGoAboveTheRedrawnLine() {
        StringWriter text = new StringWriter();
        TrainingProgressBar bar = new TrainingProgressBar(new PrintWriter(text), true, () -> 0L, CHECKPOINT);
        bar.onStart(0, 4);

        bar.onStep(step(1, 4, 1.0));
        bar.onStep(step(2, 4, 1.0));
        bar.onCheckpoint(2, CHECKPOINT);
        bar.onStep(step(3, 4, 1.0));
        bar.onStep(step(4, 4, 1.0));
        bar.onCheckpoint(4, CHECKPOINT);

        String[] lines = text.toString().split(NL, -1);
        assertThat(lines).hasSize(3);
        // The message is padded over the longer status line it replaces.
        assertThat(lines[0]).startsWith("\rstep 1/4 ").contains("\rstep 2/4 ");
        assertThat(lines[0].stripTrailing()).endsWith("\rCheckpoint at step 2: " + CHECKPOINT);
        assertThat(lines[1]).startsWith("\rstep 2/4 ").contains("\rstep 3/4 ").contains("\rstep 4/4 ");
        assertThat(lines[2]).as("the last checkpoint is left to the summary").isEmpty();
    }

    @Test
    void elsewherePlainLinesForTheFirstAndLastStepAndEveryTenSeconds() {
        StringWriter text = new StringWriter();
        AtomicLong now = new AtomicLong();
        TrainingProgressBar bar = new TrainingProgressBar(new PrintWriter(text), false, now::get, CHECKPOINT);
        bar.onStart(100, 106);
        for (int s = 101; s <= 106; s++) {
            now.addAndGet(Duration.ofSeconds(4).toNanos());
            bar.onStep(step(s, 106, 1.0));
        }

        assertThat(text.toString().lines().map(l -> l.contains(" [") ? l.substring(0, l.indexOf(" [")) : l))
                .containsExactly("Resuming from step 100 of 106 (" + CHECKPOINT + ")", "step 101/106", "step 104/106",
                        "step 106/106");
        assertThat(text.toString()).doesNotContain("\r");
    }

    @Test
    void aStopRequestIsSaidOnceAndHandedToTheTrainer() {
        StringWriter text = new StringWriter();
        TrainingProgressBar bar = new TrainingProgressBar(new PrintWriter(text), false, () -> 0L, CHECKPOINT);
        bar.onStart(0, 10);
        bar.onStep(step(1, 10, 1.0));
        assertThat(bar.stopRequested()).isFalse();

        bar.requestStop();
        bar.requestStop();

        assertThat(bar.stopRequested()).isTrue();
        assertThat(text.toString()).endsWith(NL + "Stopping after step 2 with a checkpoint (Ctrl-C again does not "
                + "hurry it)..." + NL).containsOnlyOnce("Stopping");
    }

    private static TrainingProgress step(long step, long total, double loss) {
        return new TrainingProgress(step, total, loss, 1e-4, 1.0, Duration.ofMillis(100 * step));
    }
}
