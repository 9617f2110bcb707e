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
 * step and at most every {@link #PLAIN_INTERVAL} in between.
 */
final class ProgressBar extends GenerationListener {
    static final Duration PLAIN_INTERVAL = Duration.ofSeconds(10);
    private static final int WIDTH = 20;

    private final PrintWriter err;
    private final boolean terminal;
    private final LongSupplier nanoClock;
    private int drawnLength;
    private long lastPlainLine;
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
    }

    @Override
    public synchronized void onStart(GenerationStart start) {
        drawnLength = 0;
        stepTime = Duration.ZERO;
        lastPlainLine = Long.MIN_VALUE;
    }

    @Override
    public synchronized void onStep(StepEvent step) {
        stepTime = stepTime.plus(step.stepDuration());
        String line = line(step.step(), step.totalSteps(), stepTime);
        boolean last = step.step() == step.totalSteps();
        if (terminal) {
            // Pad over the previous line's end, which a shorter line would leave visible.
            String padded = line + " ".repeat(Math.max(0, drawnLength - line.length()));
            err.print("\r" + padded);
            drawnLength = line.length();
            if (last) {
                err.println();
                drawnLength = 0;
            }
            err.flush();
            return;
        }
        long now = nanoClock.getAsLong();
        if (step.step() == 1 || last || now - lastPlainLine >= PLAIN_INTERVAL.toNanos()) {
            err.println(line);
            err.flush();
            lastPlainLine = now;
        }
    }

    @Override
    public synchronized void onEnd(GenerationResult result) {
        endLine();
    }

    @Override
    public synchronized void onFailure(Throwable error) {
        endLine();
    }

    @Override
    public synchronized void onCancel(int completedSteps) {
        endLine();
    }

    /** Ends a line left open on a terminal, so that what follows starts on its own line. */
    private void endLine() {
        if (terminal && drawnLength > 0) {
            err.println();
            err.flush();
            drawnLength = 0;
        }
    }

    /** {@code step 7/28 [#####---------------] 1.52 it/s, ETA 0:14} after {@code spent} in {@code done} steps. */
    static String line(int done, int total, Duration spent) {
        int filled = total == 0 ? WIDTH : (int) ((long) WIDTH * done / total);
        double secondsPerStep = spent.toNanos() / 1e9 / Math.max(1, done);
        String rate = secondsPerStep >= 1 ? String.format(Locale.ROOT, "%.2f s/it", secondsPerStep)
                : String.format(Locale.ROOT, "%.2f it/s", secondsPerStep == 0 ? 0 : 1 / secondsPerStep);
        Duration eta = Duration.ofNanos((long) (secondsPerStep * 1e9 * (total - done)));
        return "step " + done + "/" + total + " [" + "#".repeat(filled) + "-".repeat(WIDTH - filled) + "] " + rate
                + ", ETA " + Units.clock(eta);
    }
}
