package org.sd3j.onnx.mmdit;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Set;
import java.util.SplittableRandom;

import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Half;
import org.sd3j.onnx.safetensors.SafetensorsWriter;

/**
 * Writes random-weight SD3 MMDiT checkpoints in Stability's single-file layout ({@code model.diffusion_model.}
 * keys) for tests and benchmarks: any depth (hidden = 64 * depth), QK-norm and MMDiT-X layers optional, F32 or
 * F16. Weights are uniform with the standard deviation of a fan-in-scaled init, so activations stay O(1).
 * Published in sd3-onnx's test-jar.
 */
public final class RandomCheckpoint {
    private static final String PREFIX = "model.diffusion_model.";
    private static final int CHANNELS = 16;
    private static final int PATCH = 2;
    private static final int FREQUENCIES = 256;

    private final SafetensorsWriter writer = SafetensorsWriter.create();
    private final SplittableRandom random;
    private final DType dtype;

    private RandomCheckpoint(long seed, DType dtype) {
        this.random = new SplittableRandom(seed);
        this.dtype = dtype;
    }

    /**
     * @param depth      joint blocks (hidden 64 * depth, depth heads)
     * @param contextDim text context width
     * @param pooledDim  pooled text width
     * @param posGrid    position grid side P
     * @param qkNorm     with per-head RMS-norm weights
     * @param xLayers    MMDiT-X blocks (need qkNorm)
     */
    public static Path write(Path file, int depth, int contextDim, int pooledDim, int posGrid, boolean qkNorm,
                             Set<Integer> xLayers, DType dtype, long seed) {
        RandomCheckpoint c = new RandomCheckpoint(seed, dtype);
        c.build(depth, contextDim, pooledDim, posGrid, qkNorm, xLayers);
        c.writer.write(file);
        return file;
    }

    private void build(int depth, int contextDim, int pooledDim, int posGrid, boolean qkNorm, Set<Integer> xLayers) {
        int d = 64 * depth;
        tensor("x_embedder.proj.weight", 1.0 / Math.sqrt(CHANNELS * PATCH * PATCH), d, CHANNELS, PATCH, PATCH);
        tensor("x_embedder.proj.bias", 0.02, d);
        tensor("pos_embed", 0.5, 1, (long) posGrid * posGrid, d);
        linear("t_embedder.mlp.0", d, FREQUENCIES);
        linear("t_embedder.mlp.2", d, d);
        linear("y_embedder.mlp.0", d, pooledDim);
        linear("y_embedder.mlp.2", d, d);
        linear("context_embedder", d, contextDim);
        for (int i = 0; i < depth; i++) {
            boolean last = i == depth - 1;
            boolean x2 = xLayers.contains(i);
            String x = "joint_blocks." + i + ".x_block.";
            linear(x + "adaLN_modulation.1", (x2 ? 9 : 6) * d, d);
            attention(x + "attn.", d, true, qkNorm);
            if (x2) {
                attention(x + "attn2.", d, true, true);
            }
            linear(x + "mlp.fc1", 4 * d, d);
            linear(x + "mlp.fc2", d, 4 * d);
            String c = "joint_blocks." + i + ".context_block.";
            linear(c + "adaLN_modulation.1", (last ? 2 : 6) * d, d);
            attention(c + "attn.", d, !last, qkNorm);
            if (!last) {
                linear(c + "mlp.fc1", 4 * d, d);
                linear(c + "mlp.fc2", d, 4 * d);
            }
        }
        linear("final_layer.adaLN_modulation.1", 2 * d, d);
        linear("final_layer.linear", PATCH * PATCH * CHANNELS, d);
    }

    private void attention(String prefix, int d, boolean proj, boolean qkNorm) {
        linear(prefix + "qkv", 3 * d, d);
        if (proj) {
            linear(prefix + "proj", d, d);
        }
        if (qkNorm) {
            ones(prefix + "ln_q.weight", 64);
            ones(prefix + "ln_k.weight", 64);
        }
    }

    private void linear(String name, int out, int in) {
        tensor(name + ".weight", 1.0 / Math.sqrt(in), out, in);
        tensor(name + ".bias", 0.02, out);
    }

    private void ones(String name, int n) {
        ByteBuffer b = allocate(n);
        for (int i = 0; i < n; i++) {
            put(b, i, 1f + (float) ((random.nextDouble() - 0.5) * 0.2));
        }
        writer.add(PREFIX + name, dtype, new long[] {n}, b);
    }

    private void tensor(String name, double std, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        ByteBuffer b = allocate(Math.toIntExact(n));
        // Uniform on [-a, a] has std a / sqrt(3).
        double a = std * Math.sqrt(3);
        for (int i = 0; i < n; i++) {
            put(b, i, (float) ((random.nextDouble() * 2 - 1) * a));
        }
        writer.add(PREFIX + name, dtype, shape, b);
    }

    private ByteBuffer allocate(int n) {
        return ByteBuffer.allocateDirect(n * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
    }

    private void put(ByteBuffer b, int i, float v) {
        if (dtype == DType.F16) {
            b.putShort(i * 2, Half.floatToF16(v));
        } else {
            b.putFloat(i * 4, v);
        }
    }
}
