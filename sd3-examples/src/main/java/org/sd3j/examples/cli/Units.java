package org.sd3j.examples.cli;

import java.time.Duration;
import java.util.Locale;

/**
 * Human-readable sizes, counts and durations for command output (decimal units, seconds; locale-independent).
 */
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

    /** {@code 1234 ms} -> {@code "1.23 s"}; from a minute on also as a clock: {@code "3725.00 s (1:02:05)"}. */
    static String longSeconds(Duration d) {
        return seconds(d) + (d.compareTo(Duration.ofMinutes(1)) >= 0 ? " (" + clock(d) + ")" : "");
    }

    /** {@code 1234 ms} -> {@code "1.234 s"}, {@code 4 ms} -> {@code "0.004 s"}: benchmark figures. */
    static String millis(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("duration must be >= 0, found " + d);
        }
        return String.format(Locale.ROOT, "%.3f s", d.toNanos() / 1e9);
    }

    /** {@code 12_300} -> {@code "12.3 kB"}, {@code 4_500_000} -> {@code "4.5 MB"}, {@code 2_030_000_000} -> {@code "2.03 GB"}. */
    static String bytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, found " + bytes);
        }
        if (bytes < 1000) {
            return bytes + " B";
        }
        return scaled(bytes, new String[] {" kB", " MB", " GB", " TB"});
    }

    /** Parameter counts: {@code 999}, {@code 1.23K}, {@code 86.1M}, {@code 2.03B}. */
    static String count(long n) {
        if (n < 0) {
            throw new IllegalArgumentException("count must be >= 0, found " + n);
        }
        if (n < 1000) {
            return Long.toString(n);
        }
        return scaled(n, new String[] {"K", "M", "B", "T"});
    }

    /** Three significant digits in the largest unit (1000 apart) that keeps the value >= 1. */
    private static String scaled(long n, String[] units) {
        double v = n;
        int unit = -1;
        while (v >= 999.5 && unit < units.length - 1) {
            v /= 1000;
            unit++;
        }
        String digits = v >= 99.95 ? "%.0f" : v >= 9.995 ? "%.1f" : "%.2f";
        return String.format(Locale.ROOT, digits, v) + units[unit];
    }

    /** {@code 4.0} -> {@code "4"}, {@code 0.5} -> {@code "0.5"}: a setting as the user would type it. */
    static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    /** {@code 75 s} -> {@code "1:15"}, {@code 3725 s} -> {@code "1:02:05"}: an ETA. */
    static String clock(Duration d) {
        long s = Math.max(0, Math.round(d.toMillis() / 1000.0));
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
