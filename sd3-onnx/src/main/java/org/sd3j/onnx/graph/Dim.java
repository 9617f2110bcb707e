package org.sd3j.onnx.graph;

import java.util.Objects;

/**
 * One dimension of a value's shape: a known size, a named symbolic size ({@code batch}, {@code height}) that ONNX
 * Runtime binds at run time, or unknown. Immutable.
 */
public final class Dim {
    private static final Dim UNKNOWN = new Dim(-1, null);

    private final long size;
    private final String symbol;

    private Dim(long size, String symbol) {
        this.size = size;
        this.symbol = symbol;
    }

    public static Dim of(long size) {
        if (size < 0) {
            throw new IllegalArgumentException("size must be >= 0, found " + size);
        }
        return new Dim(size, null);
    }

    public static Dim symbol(String name) {
        return new Dim(-1, Objects.requireNonNull(name, "name"));
    }

    public static Dim unknown() {
        return UNKNOWN;
    }

    public boolean isKnown() {
        return size >= 0;
    }

    /** The size; only for known dimensions. */
    public long size() {
        if (size < 0) {
            throw new IllegalStateException("dimension " + this + " is not known statically");
        }
        return size;
    }

    public boolean isSymbolic() {
        return symbol != null;
    }

    public String symbolName() {
        return symbol;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Dim && ((Dim) o).size == size && Objects.equals(((Dim) o).symbol, symbol);
    }

    @Override
    public int hashCode() {
        return Objects.hash(size, symbol);
    }

    @Override
    public String toString() {
        return size >= 0 ? Long.toString(size) : symbol != null ? symbol : "?";
    }
}
