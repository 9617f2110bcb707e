package org.sd3j.onnx.safetensors;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Path;
import java.util.Arrays;

import org.sd3j.ModelLoadException;
import org.sd3j.tensor.Tensor;

/** Turns a tensor's raw little-endian bytes into floats, longs or an ORT-ready buffer. Stateless. */
final class Conversions {
    /** The most elements a {@link Tensor} can hold (its byte size must fit an int). */
    static final long MAX_TENSOR_ELEMENTS = Integer.MAX_VALUE / Float.BYTES;

    private Conversions() {
    }

    static Tensor toFloatTensor(Path path, TensorInfo info, ByteBuffer bytes) {
        long count = info.elementCount();
        if (count > MAX_TENSOR_ELEMENTS) {
            throw new ModelLoadException(path, "tensor '" + info.name() + "': " + info.dtype() + " x "
                    + Arrays.toString(info.shape()) + " has " + count + " elements, more than the "
                    + MAX_TENSOR_ELEMENTS + " a float32 Tensor can hold");
        }
        if (info.dtype() == DType.C64) {
            throw new ModelLoadException(path, "tensor '" + info.name()
                    + "': dtype C64 (complex) cannot be converted to float32");
        }
        Tensor out = Tensor.zeros(intShape(path, info));
        FloatBuffer dst = out.asFloatBuffer();
        int n = (int) count;
        ByteBuffer src = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (info.dtype()) {
            case F32:
                dst.put(src.asFloatBuffer());
                break;
            case F16: {
                ShortBuffer s = src.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    dst.put(i, Half.f16ToFloat(s.get(i)));
                }
                break;
            }
            case BF16: {
                ShortBuffer s = src.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    dst.put(i, Half.bf16ToFloat(s.get(i)));
                }
                break;
            }
            case F64: {
                DoubleBuffer d = src.asDoubleBuffer();
                for (int i = 0; i < n; i++) {
                    dst.put(i, (float) d.get(i));
                }
                break;
            }
            case F8_E4M3:
            case F8_E5M2:
            case F8_E8M0:
            case F8_E4M3FNUZ:
            case F8_E5M2FNUZ:
                for (int i = 0; i < n; i++) {
                    dst.put(i, Float8.toFloat(info.dtype(), src.get(i)));
                }
                break;
            case U64: {
                LongBuffer l = src.asLongBuffer();
                for (int i = 0; i < n; i++) {
                    long v = l.get(i);
                    // unsigned: exact halving keeps the value's top bits, then doubling is exact in float
                    dst.put(i, v >= 0 ? (float) v : 2f * (float) ((v >>> 1) | (v & 1)));
                }
                break;
            }
            default:
                for (int i = 0; i < n; i++) {
                    dst.put(i, (float) integerAt(info.dtype(), src, i));
                }
        }
        return out;
    }

    static long[] toLongArray(Path path, TensorInfo info, ByteBuffer bytes) {
        if (!info.dtype().isInteger()) {
            throw new ModelLoadException(path, "tensor '" + info.name() + "': dtype " + info.dtype()
                    + " is not an integer type (expected BOOL, U8, I8, I16, U16, I32, U32, I64 or U64)");
        }
        long count = info.elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new ModelLoadException(path, "tensor '" + info.name() + "' has " + count
                    + " elements, too many for a long[]");
        }
        ByteBuffer src = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[(int) count];
        for (int i = 0; i < out.length; i++) {
            long v = integerAt(info.dtype(), src, i);
            if (info.dtype() == DType.U64 && v < 0) {
                throw new ModelLoadException(path, "tensor '" + info.name() + "': U64 element " + i + " is "
                        + Long.toUnsignedString(v) + ", larger than a long can hold");
            }
            out[i] = v;
        }
        return out;
    }

    /** Element {@code i} of an integer (or BOOL) tensor, sign- or zero-extended; U64 as its raw bits. */
    private static long integerAt(DType dtype, ByteBuffer src, int i) {
        switch (dtype) {
            case BOOL:
            case U8:
                return src.get(i) & 0xFF;
            case I8:
                return src.get(i);
            case I16:
                return src.getShort(i * 2);
            case U16:
                return src.getShort(i * 2) & 0xFFFF;
            case I32:
                return src.getInt(i * 4);
            case U32:
                return src.getInt(i * 4) & 0xFFFFFFFFL;
            case I64:
            case U64:
                return src.getLong(i * 8);
            default:
                throw new IllegalStateException("not an integer dtype: " + dtype);
        }
    }

    static void checkInferenceDtype(Path path, TensorInfo info) {
        DType t = info.dtype();
        if (t != DType.F32 && t != DType.F16 && t != DType.BF16) {
            throw new ModelLoadException(path, "tensor '" + info.name() + "': dtype " + t
                    + " cannot be used for inference, expected F32, F16 or BF16");
        }
    }

    static LoadedTensor forInference(Path path, TensorInfo info, ByteBuffer bytes) {
        checkInferenceDtype(path, info);
        switch (info.dtype()) {
            case F32:
            case F16:
                return new LoadedTensor(info.dtype(), info.shape(), bytes);
            case BF16: {
                long outBytes = info.elementCount() * Float.BYTES;
                if (outBytes > Integer.MAX_VALUE) {
                    throw new ModelLoadException(path, "tensor '" + info.name() + "': BF16 x "
                            + Arrays.toString(info.shape()) + " converted to F32 needs " + outBytes
                            + " bytes, more than the 2147483647 a buffer can hold");
                }
                ByteBuffer out = ByteBuffer.allocateDirect((int) outBytes).order(ByteOrder.LITTLE_ENDIAN);
                IntBuffer dst = out.asIntBuffer();
                ShortBuffer src = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
                int n = (int) info.elementCount();
                for (int i = 0; i < n; i++) {
                    dst.put(i, (src.get(i) & 0xFFFF) << 16);
                }
                return new LoadedTensor(DType.F32, info.shape(), out.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN));
            }
            default:
                throw new IllegalStateException("unreachable: " + info.dtype());
        }
    }

    private static int[] intShape(Path path, TensorInfo info) {
        try {
            return info.intShape();
        } catch (IllegalStateException e) {
            throw new ModelLoadException(path, e.getMessage(), e);
        }
    }
}
