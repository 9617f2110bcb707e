package org.sd3j.examples.cli;

import java.time.Duration;
import java.util.Locale;

/** Human-readable sizes and durations for command output (decimal megabytes, seconds; locale-independent). */
final class Units {
    private Units() {
    }

    /** {@code 4_500_000} -> {@code "4.5 MB"}. */
    static String megabytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, found " + bytes);
        }
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    /** {@code 1234 ms} -> {@code "1.23 s"}. */
    static String seconds(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("duration must be >= 0, found " + d);
        }
        return String.format(Locale.ROOT, "%.2f s", d.toNanos() / 1e9);
    }
}
