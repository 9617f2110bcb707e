package org.sd3j.onnx.graph;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;

import org.sd3j.onnx.safetensors.Half;
import org.sd3j.tensor.Tensor;

/**
 * Float {@link Tensor}s as ONNX Runtime tensors of the element type a graph declares (exports differ: float16
 * latents, int32 or int64 token ids). float32 tensors are wrapped without a copy; other types go through a
 * direct staging buffer that can be refilled on every run.
 */
final class OrtTensors {
    private OrtTensors() {
    }

    static long[] shape(Tensor t) {
        long[] shape = new long[t.rank()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = t.dim(i);
        }
        return shape;
    }

    /** Whether {@code t} can be handed to ONNX Runtime as it is (float32 in native byte order). */
    static boolean wrappable(Tensor t, OnnxJavaType type) {
        return type == OnnxJavaType.FLOAT && t.asFloatBuffer().order() == ByteOrder.nativeOrder();
    }

    /** A tensor for one run: {@code t} itself when {@link #wrappable}, else a converted copy. Caller closes. */
    static OnnxTensor forRun(OrtEnvironment env, Tensor t, OnnxJavaType type) throws OrtException {
        if (wrappable(t, type)) {
            return OnnxTensor.createTensor(env, t.asFloatBuffer(), shape(t));
        }
        Staging s = new Staging(env, type, shape(t));
        s.fill(t);
        return s.tensor;
    }

    static void checkSupported(OnnxJavaType type) {
        if (type != OnnxJavaType.FLOAT && type != OnnxJavaType.FLOAT16 && type != OnnxJavaType.INT64
                && type != OnnxJavaType.INT32) {
            throw new IllegalArgumentException("input type must be float, float16, int64 or int32, found " + type);
        }
    }

    /** A direct buffer of {@code type} bound to an ONNX Runtime tensor; refilled from float tensors. */
    static final class Staging {
        final OnnxTensor tensor;
        final ByteBuffer bytes;
        final OnnxJavaType type;
        final long[] shape;

        Staging(OrtEnvironment env, OnnxJavaType type, long[] shape) throws OrtException {
            checkSupported(type);
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            this.type = type;
            this.shape = shape;
            this.bytes = ByteBuffer.allocateDirect(Math.toIntExact(n * type.size)).order(ByteOrder.nativeOrder());
            this.tensor = OnnxTensor.createTensor(env, bytes, shape, type);
        }

        void fill(Tensor t) {
            int n = t.size();
            switch (type) {
                case FLOAT16:
                    for (int i = 0; i < n; i++) {
                        bytes.putShort(i * 2, Half.floatToF16(t.get(i)));
                    }
                    break;
                case INT64:
                    for (int i = 0; i < n; i++) {
                        bytes.putLong(i * 8, Math.round((double) t.get(i)));
                    }
                    break;
                case INT32:
                    for (int i = 0; i < n; i++) {
                        bytes.putInt(i * 4, Math.round(t.get(i)));
                    }
                    break;
                default:
                    bytes.asFloatBuffer().put(0, t.asFloatBuffer(), 0, n);
            }
        }

        /** Copies this (output) buffer into {@code out}, widening 16-bit floats. */
        void drainInto(Tensor out) {
            int n = out.size();
            if (type == OnnxJavaType.FLOAT16) {
                for (int i = 0; i < n; i++) {
                    out.set(i, Half.f16ToFloat(bytes.getShort(i * 2)));
                }
            } else if (type == OnnxJavaType.FLOAT) {
                FloatBuffer f = bytes.asFloatBuffer();
                for (int i = 0; i < n; i++) {
                    out.set(i, f.get(i));
                }
            } else {
                throw new IllegalStateException("output must be floating point, found " + type);
            }
        }
    }
}
