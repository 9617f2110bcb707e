package org.sd3j.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

import org.sd3j.internal.Checks;

/**
 * A dense row-major float32 tensor: a flat direct little-endian {@link FloatBuffer} plus a shape.
 *
 * <p>Indexing is absolute; the buffer's position is never exposed or used. Views made by
 * {@link #reshape(int...)} and {@link #slice(int, int)} share storage with their source: a write through one
 * is seen through the other. Everything else returns a new tensor.
 *
 * <p>Ownership: a tensor returned by an sd3j method belongs to the caller. Not thread-safe for writes;
 * concurrent reads of an unchanging tensor are safe.
 */
public final class Tensor {
    private final FloatBuffer data;
    private final int[] shape;
    private final int size;

    private Tensor(FloatBuffer data, int[] shape) {
        this.data = data;
        this.shape = shape;
        this.size = data.capacity();
    }

    /** A new zero-filled tensor. */
    public static Tensor zeros(int... shape) {
        int n = checkedSize(shape);
        FloatBuffer buffer = ByteBuffer.allocateDirect(Math.multiplyExact(n, Float.BYTES))
                .order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer();
        return new Tensor(buffer, shape.clone());
    }

    /** A new tensor with every element set to {@code value}. */
    public static Tensor full(float value, int... shape) {
        Tensor t = zeros(shape);
        t.fill(value);
        return t;
    }

    /** A new tensor holding a copy of {@code values}, whose length must equal the product of {@code shape}. */
    public static Tensor of(float[] values, int... shape) {
        Checks.notNull(values, "values");
        Tensor t = zeros(shape);
        if (values.length != t.size) {
            throw new IllegalArgumentException("values.length must be " + t.size + " to fill shape "
                    + Arrays.toString(shape) + ", found " + values.length);
        }
        t.data.put(0, values);
        return t;
    }

    /**
     * Wraps {@code buffer}'s elements from its position to its limit without copying. The buffer must be
     * direct and in little-endian order (what backends hand to native code); the tensor keeps reading and
     * writing it, so the caller must keep it alive and unchanged in size.
     */
    public static Tensor wrap(FloatBuffer buffer, int... shape) {
        Checks.notNull(buffer, "buffer");
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("buffer must be direct, found a heap buffer");
        }
        if (buffer.order() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalArgumentException("buffer must be little-endian, found " + buffer.order());
        }
        int n = checkedSize(shape);
        if (buffer.remaining() != n) {
            throw new IllegalArgumentException("buffer.remaining() must be " + n + " for shape "
                    + Arrays.toString(shape) + ", found " + buffer.remaining());
        }
        return new Tensor(buffer.slice(), shape.clone());
    }

    private static int checkedSize(int[] shape) {
        Checks.notNull(shape, "shape");
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("shape must have dimensions >= 0, found " + Arrays.toString(shape));
            }
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("shape must have at most " + Integer.MAX_VALUE
                        + " elements, found " + Arrays.toString(shape));
            }
        }
        return (int) n;
    }

    /** A copy of the shape. */
    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Size of dimension {@code axis}; negative axes count from the end. */
    public int dim(int axis) {
        return shape[normalizeAxis(axis)];
    }

    /** Number of elements. */
    public int size() {
        return size;
    }

    /** Whether this tensor's shape equals {@code expected}. */
    public boolean hasShape(int... expected) {
        return Arrays.equals(shape, expected);
    }

    /** Element at flat (row-major) index {@code i}. */
    public float get(int i) {
        return data.get(i);
    }

    /** Sets the element at flat index {@code i}. */
    public void set(int i, float value) {
        data.put(i, value);
    }

    /** Element at the multi-dimensional index {@code idx} (one entry per dimension). */
    public float at(int... idx) {
        return data.get(flatIndex(idx));
    }

    /** Flat row-major index of a multi-dimensional index. */
    public int flatIndex(int... idx) {
        if (idx.length != shape.length) {
            throw new IllegalArgumentException("index must have " + shape.length + " entries, found " + idx.length);
        }
        int flat = 0;
        for (int d = 0; d < shape.length; d++) {
            if (idx[d] < 0 || idx[d] >= shape[d]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(idx) + " is outside shape "
                        + Arrays.toString(shape));
            }
            flat = flat * shape[d] + idx[d];
        }
        return flat;
    }

    /**
     * A duplicate of the backing buffer (position 0, limit {@link #size()}), sharing content with this tensor:
     * for backends that hand data to native code. The duplicate's position and limit are the caller's.
     */
    public FloatBuffer asFloatBuffer() {
        return data.duplicate().clear();
    }

    /** A copy of all elements, row-major. */
    public float[] toArray() {
        float[] out = new float[size];
        data.get(0, out);
        return out;
    }

    /** A deep copy. */
    public Tensor copy() {
        Tensor t = zeros(shape);
        t.data.put(0, data, 0, size);
        return t;
    }

    /** Overwrites this tensor's elements with {@code src}'s, which must have the same number of elements. */
    public Tensor copyFrom(Tensor src) {
        requireSameSize(src, "src");
        data.put(0, src.data, 0, size);
        return this;
    }

    /** A view with another shape of the same element count, sharing storage. */
    public Tensor reshape(int... newShape) {
        int n = checkedSize(newShape);
        if (n != size) {
            throw new IllegalArgumentException("newShape must have " + size + " elements like "
                    + Arrays.toString(shape) + ", found " + Arrays.toString(newShape));
        }
        return new Tensor(data, newShape.clone());
    }

    /** A view of items {@code [from, to)} along dimension 0, sharing storage. */
    public Tensor slice(int from, int to) {
        if (shape.length == 0 || from < 0 || to > shape[0] || from > to) {
            throw new IllegalArgumentException("slice must be within [0, " + (shape.length == 0 ? 0 : shape[0])
                    + "] along dimension 0, found [" + from + ", " + to + ")");
        }
        int inner = shape[0] == 0 ? 0 : size / shape[0];
        FloatBuffer view = data.duplicate().position(from * inner).limit(to * inner).slice();
        int[] s = shape.clone();
        s[0] = to - from;
        return new Tensor(view, s);
    }

    /** Sets every element to {@code value}; returns this. */
    public Tensor fill(float value) {
        for (int i = 0; i < size; i++) {
            data.put(i, value);
        }
        return this;
    }

    /** {@code this += alpha * other}, element-wise in float32; returns this. */
    public Tensor addScaled(Tensor other, float alpha) {
        requireSameSize(other, "other");
        FloatBuffer o = other.data;
        for (int i = 0; i < size; i++) {
            data.put(i, data.get(i) + alpha * o.get(i));
        }
        return this;
    }

    /** {@code this *= factor}, element-wise; returns this. */
    public Tensor scale(float factor) {
        for (int i = 0; i < size; i++) {
            data.put(i, data.get(i) * factor);
        }
        return this;
    }

    /** Whether every element is finite (no NaN or infinity). */
    public boolean allFinite() {
        for (int i = 0; i < size; i++) {
            if (!Float.isFinite(data.get(i))) {
                return false;
            }
        }
        return true;
    }

    /** Largest absolute element-wise difference to {@code other}, which must have the same shape. */
    public double maxAbsDiff(Tensor other) {
        if (!Arrays.equals(shape, other.shape)) {
            throw new IllegalArgumentException("other must have shape " + Arrays.toString(shape) + ", found "
                    + Arrays.toString(other.shape));
        }
        double max = 0;
        for (int i = 0; i < size; i++) {
            max = Math.max(max, Math.abs((double) data.get(i) - other.data.get(i)));
        }
        return max;
    }

    /** A new tensor: {@code times} copies of this one stacked along dimension 0 ([B,...] -> [B*times,...]). */
    public Tensor repeat(int times) {
        Checks.atLeast(times, 1, "times");
        int[] s = shape.clone();
        s[0] = Math.multiplyExact(s[0], times);
        Tensor out = zeros(s);
        for (int r = 0; r < times; r++) {
            out.data.put(r * size, data, 0, size);
        }
        return out;
    }

    /**
     * A new tensor whose last dimension is zero-padded (at the end) to {@code width}: [..., D] -> [..., width].
     */
    public Tensor padLastDim(int width) {
        int d = shape[shape.length - 1];
        if (width < d) {
            throw new IllegalArgumentException("width must be >= " + d + ", found " + width);
        }
        int[] s = shape.clone();
        s[s.length - 1] = width;
        Tensor out = zeros(s);
        int rows = d == 0 ? 0 : size / d;
        for (int r = 0; r < rows; r++) {
            out.data.put(r * width, data, r * d, d);
        }
        return out;
    }

    /** Concatenates tensors along {@code axis}; all other dimensions must agree. */
    public static Tensor concat(int axis, Tensor... parts) {
        Checks.notNull(parts, "parts");
        if (parts.length == 0) {
            throw new IllegalArgumentException("parts must be non-empty, found 0 tensors");
        }
        Tensor first = parts[0];
        int ax = first.normalizeAxis(axis);
        int[] outShape = first.shape.clone();
        outShape[ax] = 0;
        for (Tensor p : parts) {
            Checks.notNull(p, "parts[i]");
            if (p.rank() != first.rank()) {
                throw new IllegalArgumentException("parts must all have rank " + first.rank() + ", found "
                        + Arrays.toString(p.shape));
            }
            for (int d = 0; d < first.rank(); d++) {
                if (d != ax && p.shape[d] != first.shape[d]) {
                    throw new IllegalArgumentException("parts must agree outside axis " + ax + ": "
                            + Arrays.toString(first.shape) + " vs " + Arrays.toString(p.shape));
                }
            }
            outShape[ax] += p.shape[ax];
        }
        Tensor out = zeros(outShape);
        int outer = 1;
        for (int d = 0; d < ax; d++) {
            outer *= outShape[d];
        }
        int dst = 0;
        for (int o = 0; o < outer; o++) {
            for (Tensor p : parts) {
                int block = outer == 0 ? 0 : p.size / outer;
                out.data.put(dst, p.data, o * block, block);
                dst += block;
            }
        }
        return out;
    }

    private int normalizeAxis(int axis) {
        int a = axis < 0 ? axis + shape.length : axis;
        if (a < 0 || a >= shape.length) {
            throw new IllegalArgumentException("axis must be in [-" + shape.length + ", " + shape.length
                    + "), found " + axis);
        }
        return a;
    }

    private void requireSameSize(Tensor other, String name) {
        Checks.notNull(other, name);
        if (other.size != size) {
            throw new IllegalArgumentException(name + " must have " + size + " elements " + Arrays.toString(shape)
                    + ", found " + other.size + " " + Arrays.toString(other.shape));
        }
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }
}
