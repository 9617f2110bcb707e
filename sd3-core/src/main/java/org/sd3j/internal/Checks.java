package org.sd3j.internal;

import java.util.Objects;

/**
 * Argument checks that produce the project's message form: {@code "<name> must be <constraint>, found <value>"}.
 * Internal: not part of the public API.
 */
public final class Checks {
    private Checks() {
    }

    public static <T> T notNull(T value, String name) {
        if (value == null) {
            throw new IllegalArgumentException(name + " must be non-null, found null");
        }
        return value;
    }

    public static int atLeast(int value, int min, String name) {
        if (value < min) {
            throw new IllegalArgumentException(name + " must be >= " + min + ", found " + value);
        }
        return value;
    }

    public static double finite(double value, String name) {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException(name + " must be finite, found " + value);
        }
        return value;
    }

    public static double finitePositive(double value, String name) {
        if (!Double.isFinite(value) || value <= 0) {
            throw new IllegalArgumentException(name + " must be finite and > 0, found " + value);
        }
        return value;
    }

    public static double finiteNonNegative(double value, String name) {
        if (!Double.isFinite(value) || value < 0) {
            throw new IllegalArgumentException(name + " must be finite and >= 0, found " + value);
        }
        return value;
    }

    public static int multipleOf16(int value, String name) {
        if (value <= 0 || value % 16 != 0) {
            throw new IllegalArgumentException(name + " must be a positive multiple of 16, found " + value);
        }
        return value;
    }

    public static IllegalArgumentException fail(String name, String constraint, Object found) {
        return new IllegalArgumentException(name + " must be " + constraint + ", found " + Objects.toString(found));
    }
}
