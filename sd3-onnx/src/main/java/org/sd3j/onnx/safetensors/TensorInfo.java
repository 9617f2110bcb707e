package org.sd3j.onnx.safetensors;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor's header entry: name, element type, shape and byte range. Immutable (the shape is copied in and
 * out).
 *
 * @param name  the tensor's name (a header key)
 * @param dtype element type
 * @param shape dimensions, each {@code >= 0}; empty for a scalar
 * @param begin first byte, relative to the start of the data section (the byte after the header)
 * @param end   one past the last byte, relative to the start of the data section;
 *              {@code end - begin == byteSize()}
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    /**
     * @throws IllegalArgumentException if an argument is null, a dimension is negative, the offsets are not
     *                                  {@code 0 <= begin <= end}, or {@code end - begin} differs from the
     *                                  tensor's byte size
     */
    public TensorInfo {
        if (name == null) {
            throw new IllegalArgumentException("name must be non-null, found null");
        }
        if (dtype == null) {
            throw new IllegalArgumentException("dtype must be non-null, found null");
        }
        if (shape == null) {
            throw new IllegalArgumentException("shape must be non-null, found null");
        }
        shape = shape.clone();
        long bytes = checkedByteSize(dtype, shape);
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException("offsets must satisfy 0 <= begin <= end, found [" + begin + ", "
                    + end + "]");
        }
        if (end - begin != bytes) {
            throw new IllegalArgumentException("offsets must span " + bytes + " bytes for " + dtype + " x "
                    + Arrays.toString(shape) + ", found [" + begin + ", " + end + "]");
        }
    }

    /**
     * Byte size of {@code dtype x shape}.
     *
     * @throws IllegalArgumentException for a negative dimension or a size beyond {@code Long.MAX_VALUE}
     */
    static long checkedByteSize(DType dtype, long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("shape must have dimensions >= 0, found "
                        + Arrays.toString(shape));
            }
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("shape must have fewer than 2^63 elements, found "
                        + Arrays.toString(shape), e);
            }
        }
        try {
            return Math.multiplyExact(n, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape must have fewer than 2^63 bytes as " + dtype + ", found "
                    + Arrays.toString(shape), e);
        }
    }

    /** A copy of the dimensions. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of dimensions. */
    public int rank() {
        return shape.length;
    }

    /** Number of elements (1 for a scalar, 0 if any dimension is 0). */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d; // cannot overflow: checked at construction
        }
        return n;
    }

    /** Number of bytes, {@code end - begin}. */
    public long byteSize() {
        return end - begin;
    }

    /**
     * The shape as {@code int}s, for ONNX Runtime and {@link org.sd3j.tensor.Tensor}.
     *
     * @throws IllegalStateException if a dimension exceeds {@link Integer#MAX_VALUE}
     */
    public int[] intShape() {
        int[] out = new int[shape.length];
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] > Integer.MAX_VALUE) {
                throw new IllegalStateException("tensor '" + name + "' has shape " + Arrays.toString(shape)
                        + ", with a dimension larger than " + Integer.MAX_VALUE);
            }
            out[i] = (int) shape[i];
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype
                && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return "TensorInfo[" + name + ", " + dtype + " x " + Arrays.toString(shape) + ", [" + begin + ", " + end
                + "]]";
    }
}
