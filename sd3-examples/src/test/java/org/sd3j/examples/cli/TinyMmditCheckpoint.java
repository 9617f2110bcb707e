package org.sd3j.examples.cli;

import java.nio.file.Path;
import java.util.SplittableRandom;

import org.sd3j.onnx.safetensors.SafetensorsWriter;

/**
 * Writes a random-weight SD3 MMDiT checkpoint in Stability's single-file layout ({@code model.diffusion_model.}
 * keys), as small as the architecture allows: depth 1 (hidden 64, one pre-only context block), 16 latent
 * channels, patch 2, a 4x4 position grid, context and pooled widths 32. About 0.6 MB.
 */
final class TinyMmditCheckpoint {
    static final int HIDDEN = 64;
    private static final int CHANNELS = 16;
    private static final int PATCH = 2;
    private static final int POS_GRID = 4;
    private static final int CONTEXT = 32;
    private static final int POOLED = 32;
    private static final int FREQUENCIES = 256;
    private static final String PREFIX = "model.diffusion_model.";

    private final SafetensorsWriter writer = SafetensorsWriter.create();
    private final SplittableRandom random = new SplittableRandom(20240612L);

    private TinyMmditCheckpoint() {
    }

    static Path write(Path file) {
        new TinyMmditCheckpoint().build().writer.write(file);
        return file;
    }

    private TinyMmditCheckpoint build() {
        int d = HIDDEN;
        tensor("x_embedder.proj.weight", d, CHANNELS, PATCH, PATCH);
        tensor("x_embedder.proj.bias", d);
        tensor("pos_embed", 1, POS_GRID * POS_GRID, d);
        linear("t_embedder.mlp.0", d, FREQUENCIES);
        linear("t_embedder.mlp.2", d, d);
        linear("y_embedder.mlp.0", d, POOLED);
        linear("y_embedder.mlp.2", d, d);
        linear("context_embedder", d, CONTEXT);
        String x = "joint_blocks.0.x_block.";
        linear(x + "adaLN_modulation.1", 6 * d, d);
        linear(x + "attn.qkv", 3 * d, d);
        linear(x + "attn.proj", d, d);
        linear(x + "mlp.fc1", 4 * d, d);
        linear(x + "mlp.fc2", d, 4 * d);
        String c = "joint_blocks.0.context_block."; // the last block's context side is pre-only
        linear(c + "adaLN_modulation.1", 2 * d, d);
        linear(c + "attn.qkv", 3 * d, d);
        linear("final_layer.adaLN_modulation.1", 2 * d, d);
        linear("final_layer.linear", PATCH * PATCH * CHANNELS, d);
        return this;
    }

    private void linear(String name, int out, int in) {
        tensor(name + ".weight", out, in);
        tensor(name + ".bias", out);
    }

    private void tensor(String name, int... shape) {
        int n = 1;
        long[] dims = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            n *= shape[i];
            dims[i] = shape[i];
        }
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (random.nextDouble() - 0.5) * 0.1f;
        }
        writer.add(PREFIX + name, values, dims);
    }
}
