package org.sd3j.examples.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

import org.sd3j.train.TrainingListener;
import org.sd3j.train.TrainingProgress;

/**
 * The progress of {@code sd3 train} on the error stream, drawn as {@link ProgressBar} draws a generation's
 * ({@link StatusLine}: redrawn in place on a terminal, occasional plain lines elsewhere):
 * <pre>
 * step 37/1000 [#-------------------] loss 0.4213 (last 0.3977), lr 1.00e-04, 1.52 it/s, ETA 10:34
 * </pre>
 * The loss shown first is an exponential moving average (weight {@value #SMOOTHING} on the past) of the step
 * losses, which jump from step to step with the random timesteps and noise; {@code last} is the latest step's.
 * Rate and ETA count only the steps of this process (a resumed run's earlier steps took their own time). Also
 * prints the resumption, the checkpoints written on the way and, from the shutdown hook, that a stop was asked for;
 * and hands the trainer the stop request ({@link #stopRequested()}).
 */
final class TrainingProgressBar extends TrainingListener {
    static final double SMOOTHING = 0.9;

    private final StatusLine status;
    private final Path checkpointFile;
    private volatile boolean stop;
    private long firstStep;
    private long totalSteps;
    private long step;
    private double smoothed = Double.NaN;
    private double last = Double.NaN;
    private Duration elapsed = Duration.ZERO;

    /**
     * @param checkpointFile the run's checkpoint, named in the messages
     * @see StatusLine#StatusLine(PrintWriter, boolean, LongSupplier)
     */
    TrainingProgressBar(PrintWriter err, boolean terminal, LongSupplier nanoClock, Path checkpointFile) {
        this.status = new StatusLine(err, terminal, nanoClock);
        this.checkpointFile = checkpointFile;
    }

    @Override
    public synchronized void onStart(long firstStep, long totalSteps) {
        this.firstStep = firstStep;
        this.totalSteps = totalSteps;
        this.step = firstStep;
        // A checkpoint already at (or past) the last step leaves nothing to resume: the summary says so.
        if (firstStep > 0 && firstStep < totalSteps) {
            status.message("Resuming from step " + firstStep + " of " + totalSteps + " (" + checkpointFile + ")");
        }
    }

    @Override
    public synchronized void onStep(TrainingProgress progress) {
        step = progress.step();
        last = progress.loss();
        smoothed = Double.isNaN(smoothed) ? last : SMOOTHING * smoothed + (1 - SMOOTHING) * last;
        elapsed = progress.elapsed();
        boolean end = step == progress.totalSteps();
        status.update(line(step, progress.totalSteps(), smoothed, last, progress.learningRate(),
                elapsed, step - firstStep), step == firstStep + 1 || end);
        if (end) {
            status.end();
        }
    }

    @Override
    public synchronized void onCheckpoint(long step, Path file) {
        // The last one is in the summary that follows.
        if (step < totalSteps && !stop) {
            status.message("Checkpoint at step " + step + ": " + file);
        }
    }

    @Override
    public boolean stopRequested() {
        return stop;
    }

    /** Asks the trainer to stop after its current step (from the shutdown hook's thread) and says so. */
    synchronized void requestStop() {
        if (!stop) {
            stop = true;
            status.message("Stopping after step " + (step + 1) + " with a checkpoint (Ctrl-C again does not "
                    + "hurry it)...");
        }
    }

    /** Ends an open status line (before other output). */
    synchronized void end() {
        status.end();
    }

    /** Whether a stop was asked for. */
    boolean stopping() {
        return stop;
    }

    synchronized long firstStep() {
        return firstStep;
    }

    /** The last step done (the first step when none ran). */
    synchronized long step() {
        return step;
    }

    /** Steps this process ran. */
    synchronized long stepsRun() {
        return step - firstStep;
    }

    /** The smoothed loss after the last step; NaN when no step ran. */
    synchronized double smoothedLoss() {
        return smoothed;
    }

    synchronized double lastLoss() {
        return last;
    }

    /** Training time of this process's steps. */
    synchronized Duration elapsed() {
        return elapsed;
    }

    /** The status line after {@code run} steps of this process took {@code spent}. */
    static String line(long step, long total, double smoothed, double last, double lr, Duration spent, long run) {
        double secondsPerStep = spent.toNanos() / 1e9 / Math.max(1, run);
        return "step " + step + "/" + total + " " + ProgressBar.bar(step, total) + " "
                + String.format(Locale.ROOT, "loss %.4f (last %.4f), lr %.2e, ", smoothed, last, lr)
                + ProgressBar.rate(secondsPerStep) + ", ETA "
                + Units.clock(Duration.ofNanos((long) (secondsPerStep * 1e9 * Math.max(0, total - step))));
    }
}
