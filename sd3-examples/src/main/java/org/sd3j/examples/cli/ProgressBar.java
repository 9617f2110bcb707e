package org.sd3j.examples.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

import org.sd3j.GenerationListener;
import org.sd3j.GenerationResult;
import org.sd3j.GenerationStart;
import org.sd3j.StepEvent;

/**
 * The denoising progress of {@code sd3 generate} on the error stream:
 * <pre>
 * step 7/28 [#####---------------] 1.52 it/s, ETA 0:14
 * </pre>
 * The rate reads {@code s/it} when a step takes a second or more ({@code 12.40 s/it}). On a terminal the line is
 * redrawn in place ({@code '\r'}); otherwise (a pipe, a log file) a plain line is printed for the first and last
 * step and at most every {@link #PLAIN_INTERVAL} in between ({@link StatusLine}).
 */
final class ProgressBar extends GenerationListener {
    static final Duration PLAIN_INTERVAL = StatusLine.PLAIN_INTERVAL;
    static final int WIDTH = 20;

    private final PrintWriter err;
    private final boolean terminal;
    private final LongSupplier nanoClock;
    private StatusLine status;
    private Duration stepTime = Duration.ZERO;

    /**
     * @param err       where to draw
     * @param terminal  whether {@code err} is a terminal (redraw in place) or not (occasional plain lines)
     * @param nanoClock the time in nanoseconds ({@code System::nanoTime}), for the plain lines' interval
     */
    ProgressBar(PrintWriter err, boolean terminal, LongSupplier nanoClock) {
        this.err = err;
        this.terminal = terminal;
        this.nanoClock = nanoClock;
        this.status = new StatusLine(err, terminal, nanoClock);
    }

    @Override
    public synchronized void onStart(GenerationStart start) {
        status = new StatusLine(err, terminal, nanoClock);
        stepTime = Duration.ZERO;
    }

    @Override
    public synchronized void onStep(StepEvent step) {
        stepTime = stepTime.plus(step.stepDuration());
        boolean last = step.step() == step.totalSteps();
        status.update(line(step.step(), step.totalSteps(), stepTime), step.step() == 1 || last);
        if (last) {
            status.end();
        }
    }

    @Override
    public synchronized void onEnd(GenerationResult result) {
        status.end();
    }

    @Override
    public synchronized void onFailure(Throwable error) {
        status.end();
    }

    @Override
    public synchronized void onCancel(int completedSteps) {
        status.end();
    }

    /** {@code step 7/28 [#####---------------] 1.52 it/s, ETA 0:14} after {@code spent} in {@code done} steps. */
    static String line(int done, int total, Duration spent) {
        double secondsPerStep = spent.toNanos() / 1e9 / Math.max(1, done);
        return "step " + done + "/" + total + " " + bar(done, total) + " " + rate(secondsPerStep) + ", ETA "
                + Units.clock(Duration.ofNanos((long) (secondsPerStep * 1e9 * (total - done))));
    }

    /** {@code [#####---------------]}: {@code done} of {@code total} in {@value #WIDTH} characters. */
    static String bar(long done, long total) {
        int filled = total == 0 ? WIDTH : (int) Math.min(WIDTH, WIDTH * done / total);
        return "[" + "#".repeat(filled) + "-".repeat(WIDTH - filled) + "]";
    }

    /** {@code 1.52 it/s}, or {@code 12.40 s/it} when a step takes a second or more (fewer digits to read). */
    static String rate(double secondsPerStep) {
        return secondsPerStep >= 1 ? String.format(Locale.ROOT, "%.2f s/it", secondsPerStep)
                : String.format(Locale.ROOT, "%.2f it/s", secondsPerStep == 0 ? 0 : 1 / secondsPerStep);
    }
}
