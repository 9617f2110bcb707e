package org.sd3j.onnx.safetensors;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor ready to hand to ONNX Runtime: its element type (after any conversion, see
 * {@link TensorSource#forInference(String)}), its shape and its little-endian bytes.
 *
 * <p>{@code data} is read-only, positioned at 0 with {@code remaining() == elementCount * dtype.byteSize()},
 * and direct. Either it is a zero-copy view of the file's memory mapping, valid until the source that returned
 * it is closed, or a new buffer of converted values that the caller owns. Each call returns its own buffer
 * object, so position and limit changes don't leak between callers.
 *
 * @param dtype element type of {@code data}
 * @param shape dimensions (copied in and out)
 * @param data  the bytes
 */
public record LoadedTensor(DType dtype, long[] shape, ByteBuffer data) {

    public LoadedTensor {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(data, "data");
        shape = shape.clone();
    }

    /** A copy of the dimensions. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The shape as {@code int}s; all dimensions of a loaded tensor fit (it is at most 2 GB). */
    public int[] intShape() {
        int[] out = new int[shape.length];
        for (int i = 0; i < shape.length; i++) {
            out[i] = Math.toIntExact(shape[i]);
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LoadedTensor t && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && data.equals(t.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(dtype, Arrays.hashCode(shape), data);
    }

    @Override
    public String toString() {
        return "LoadedTensor[" + dtype + " x " + Arrays.toString(shape) + ", " + data.remaining() + " bytes]";
    }
}
