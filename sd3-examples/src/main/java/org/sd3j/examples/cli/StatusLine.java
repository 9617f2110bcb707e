package org.sd3j.examples.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * One status line on the error stream (the progress of {@code sd3 generate} and {@code sd3 train}). On a terminal
 * it is redrawn in place ({@code '\r'}); elsewhere (a pipe, a log file) redrawing would leave a line per update, so
 * a plain line is printed only when asked to ({@code force}: a run's first and last update) and at most every
 * {@link #PLAIN_INTERVAL} in between. Not thread-safe: callers synchronize.
 */
final class StatusLine {
    static final Duration PLAIN_INTERVAL = Duration.ofSeconds(10);

    private final PrintWriter err;
    private final boolean terminal;
    private final LongSupplier nanoClock;
    private String drawn = "";
    private long lastPlainLine;
    private boolean printedPlain;

    /**
     * @param err       where to draw
     * @param terminal  whether {@code err} is a terminal (redraw in place) or not (occasional plain lines)
     * @param nanoClock the time in nanoseconds ({@code System::nanoTime}), for the plain lines' interval
     */
    StatusLine(PrintWriter err, boolean terminal, LongSupplier nanoClock) {
        this.err = err;
        this.terminal = terminal;
        this.nanoClock = nanoClock;
    }

    /** Shows {@code line}: redrawn on a terminal; elsewhere printed when {@code force}d or the interval passed. */
    void update(String line, boolean force) {
        if (terminal) {
            redraw(line);
            err.flush();
            return;
        }
        long now = nanoClock.getAsLong();
        // A flag rather than a sentinel time: now - Long.MIN_VALUE overflows.
        if (force || !printedPlain || now - lastPlainLine >= PLAIN_INTERVAL.toNanos()) {
            err.println(line);
            err.flush();
            lastPlainLine = now;
            printedPlain = true;
        }
    }

    /**
     * Prints {@code text} on a line of its own; on a terminal it takes the status line's place and the status line
     * is drawn again below it, so that the message is not overwritten.
     */
    void message(String text) {
        if (terminal && !drawn.isEmpty()) {
            String status = drawn;
            redraw(text);
            err.println();
            drawn = "";
            redraw(status);
        } else {
            err.println(text);
        }
        err.flush();
    }

    /** Ends a line left open on a terminal, so that what follows starts on its own line. */
    void end() {
        if (terminal && !drawn.isEmpty()) {
            err.println();
            err.flush();
            drawn = "";
        }
    }

    private void redraw(String line) {
        // Pad over the previous line's end, which a shorter line would leave visible.
        err.print("\r" + line + " ".repeat(Math.max(0, drawn.length() - line.length())));
        drawn = line;
    }
}
