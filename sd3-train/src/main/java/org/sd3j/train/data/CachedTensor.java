package org.sd3j.train.data;

import java.nio.ByteBuffer;
import java.util.Arrays;

import org.sd3j.ModelLoadException;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Half;
import org.sd3j.onnx.safetensors.SafetensorsFile;
import org.sd3j.onnx.safetensors.TensorInfo;

/**
 * One tensor of a cache file read in place: each element is decoded from the file's mapped bytes when asked for,
 * so assembling a batch copies it once, into the batch's buffer, and allocates no tensor for it. Caches store F16,
 * or F32 where a value exceeds the F16 range; BF16 is read too. Valid only while its file is open; not
 * thread-safe (it shares the file's mapping, which must not be closed under it).
 */
final class CachedTensor implements FloatSource {
    private final ByteBuffer bytes;
    private final DType dtype;
    private final int[] shape;

    private CachedTensor(ByteBuffer bytes, DType dtype, int[] shape) {
        this.bytes = bytes;
        this.dtype = dtype;
        this.shape = shape;
    }

    /**
     * The tensor {@code name} of {@code file}.
     *
     * @throws ModelLoadException if the file lacks it or holds it in another element type
     */
    static CachedTensor read(SafetensorsFile file, String name) {
        TensorInfo info = file.info(name);
        if (info.dtype() != DType.F16 && info.dtype() != DType.F32 && info.dtype() != DType.BF16) {
            throw new ModelLoadException(file.path(), "tensor '" + name + "' is " + info.dtype()
                    + ", expected F16 or F32 as the cache writes");
        }
        return new CachedTensor(file.bytes(name), info.dtype(), info.intShape());
    }

    boolean hasShape(int... expected) {
        return Arrays.equals(shape, expected);
    }

    int rank() {
        return shape.length;
    }

    int dim(int axis) {
        return shape[axis];
    }

    /** Elements: the product of the dimensions. */
    int size() {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    /** The element at flat (row-major) index {@code index}, as float32 (exact for every stored type). */
    @Override
    public float get(int index) {
        switch (dtype) {
            case F16:
                return Half.f16ToFloat(bytes.getShort(index * 2));
            case BF16:
                return Half.bf16ToFloat(bytes.getShort(index * 2));
            default:
                return bytes.getFloat(index * 4);
        }
    }

    /** Shape as a batch of one, the way messages show a sample's tensors: {@code Tensor[1, S, D]}. */
    String describeAsBatchOfOne() {
        int[] s = new int[shape.length + 1];
        s[0] = 1;
        System.arraycopy(shape, 0, s, 1, shape.length);
        return "Tensor" + Arrays.toString(s);
    }

    /** Like {@link org.sd3j.tensor.Tensor#toString()}: the shape. */
    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }
}
