package org.sd3j.onnx.graph;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A weight's bytes for an EXTERNAL initializer: element type, shape and a little-endian buffer. For zero-copy
 * sessions the buffer must be direct (memory-mapped checkpoint slices are); it is borrowed and must stay valid
 * while any session built from it is open.
 *
 * @param type  element type of the bytes
 * @param shape dimensions
 * @param data  {@code product(shape) * type.byteSize()} bytes, little-endian, position 0
 */
public record WeightData(ElementType type, long[] shape, ByteBuffer data) {
    public WeightData {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        long bytes = n * type.byteSize();
        if (data.remaining() != bytes) {
            throw new IllegalArgumentException("data must hold " + bytes + " bytes for " + type + " "
                    + Arrays.toString(shape) + ", found " + data.remaining());
        }
        shape = shape.clone();
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }
}
