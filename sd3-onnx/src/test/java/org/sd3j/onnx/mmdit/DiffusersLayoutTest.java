package org.sd3j.onnx.mmdit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorInfo;
import org.sd3j.onnx.safetensors.TensorSource;

/**
 * The golden weights rewritten into a diffusers {@code transformer/} folder (names from SPEC §5, written out here
 * independently of the loader's mapping: q/k/v split, renamed modules, scale/shift halves swapped for
 * {@code norm_out.linear} and the last block's {@code norm1_context.linear}) must give the reference's output.
 */
class DiffusersLayoutTest {

    /** Original (unprefixed) name -> diffusers name, or null for the fused qkv handled separately. */
    static String diffusersName(String original, int depth) {
        String[][] top = {
            {"x_embedder.proj.", "pos_embed.proj."},
            {"t_embedder.mlp.0.", "time_text_embed.timestep_embedder.linear_1."},
            {"t_embedder.mlp.2.", "time_text_embed.timestep_embedder.linear_2."},
            {"y_embedder.mlp.0.", "time_text_embed.text_embedder.linear_1."},
            {"y_embedder.mlp.2.", "time_text_embed.text_embedder.linear_2."},
            {"context_embedder.", "context_embedder."},
            {"final_layer.linear.", "proj_out."},
            {"final_layer.adaLN_modulation.1.", "norm_out.linear."},
        };
        if (original.equals("pos_embed")) {
            return "pos_embed.pos_embed";
        }
        for (String[] t : top) {
            if (original.startsWith(t[0])) {
                return t[1] + original.substring(t[0].length());
            }
        }
        String[] parts = original.split("\\.", 4); // joint_blocks, i, x_block|context_block, rest
        String block = "transformer_blocks." + parts[1] + ".";
        boolean ctx = parts[2].equals("context_block");
        String rest = parts[3];
        Map<String, String> x = Map.of("adaLN_modulation.1.", "norm1.linear.", "attn.proj.", "attn.to_out.0.",
                "attn.ln_q.", "attn.norm_q.", "attn.ln_k.", "attn.norm_k.", "mlp.fc1.", "ff.net.0.proj.",
                "mlp.fc2.", "ff.net.2.", "attn2.proj.", "attn2.to_out.0.", "attn2.ln_q.", "attn2.norm_q.",
                "attn2.ln_k.", "attn2.norm_k.");
        Map<String, String> c = Map.of("adaLN_modulation.1.", "norm1_context.linear.", "attn.proj.", "attn.to_add_out.",
                "attn.ln_q.", "attn.norm_added_q.", "attn.ln_k.", "attn.norm_added_k.", "mlp.fc1.",
                "ff_context.net.0.proj.", "mlp.fc2.", "ff_context.net.2.");
        for (Map.Entry<String, String> e : (ctx ? c : x).entrySet()) {
            if (rest.startsWith(e.getKey())) {
                return block + e.getValue() + rest.substring(e.getKey().length());
            }
        }
        return null;
    }

    static ByteBuffer rows(ByteBuffer all, long rowBytes, long from, long to) {
        ByteBuffer b = all.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.position(Math.toIntExact(from * rowBytes)).limit(Math.toIntExact(to * rowBytes));
        return b.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    static Path writeDiffusers(Path original, Path out) {
        try (TensorSource src = Safetensors.open(original)) {
            String prefix = "model.diffusion_model.";
            int depth = 0;
            while (src.find(prefix + "joint_blocks." + depth + ".x_block.attn.proj.weight").isPresent()) {
                depth++;
            }
            SafetensorsWriter w = SafetensorsWriter.create();
            Map<String, String> renamed = new LinkedHashMap<>();
            for (String name : src.names()) {
                String o = name.substring(prefix.length());
                TensorInfo info = src.info(name);
                ByteBuffer bytes = src.bytes(name);
                long[] shape = info.shape();
                long rowBytes = shape.length == 0 ? 0 : info.byteSize() / shape[0];
                if (o.contains(".attn.qkv.") || o.contains(".attn2.qkv.")) {
                    String[] parts = o.split("\\.");
                    String block = "transformer_blocks." + parts[1] + "." + parts[3] + ".";
                    boolean ctx = parts[2].equals("context_block");
                    String kind = parts[parts.length - 1];
                    long d = shape[0] / 3;
                    String[] names = ctx ? new String[] {"add_q_proj", "add_k_proj", "add_v_proj"}
                            : new String[] {"to_q", "to_k", "to_v"};
                    for (int p = 0; p < 3; p++) {
                        long[] s = shape.clone();
                        s[0] = d;
                        w.add(block + names[p] + "." + kind, DType.F32, s, rows(bytes, rowBytes, p * d, (p + 1) * d));
                    }
                    continue;
                }
                String target = diffusersName(o, depth);
                assertThat(target).as("mapping for %s", o).isNotNull();
                boolean swap = o.startsWith("final_layer.adaLN_modulation.1.")
                        || o.startsWith("joint_blocks." + (depth - 1) + ".context_block.adaLN_modulation.1.");
                if (swap) {
                    long half = shape[0] / 2;
                    ByteBuffer swapped = ByteBuffer.allocate(bytes.remaining()).order(ByteOrder.LITTLE_ENDIAN);
                    swapped.put(rows(bytes, rowBytes, half, 2 * half)).put(rows(bytes, rowBytes, 0, half)).flip();
                    w.add(target, DType.F32, shape, swapped);
                } else {
                    w.add(target, DType.F32, shape, bytes);
                }
                renamed.put(o, target);
            }
            Path file = out.resolve("diffusion_pytorch_model.safetensors");
            w.write(file);
            return out;
        }
    }

    @Test
    void mmditxInDiffusersLayoutMatchesReference(@TempDir Path dir) throws Exception {
        Path original = MmditxParityTest.assemble(java.nio.file.Files.createDirectories(dir.resolve("original")));
        Path folder = writeDiffusers(original, java.nio.file.Files.createDirectories(dir.resolve("transformer")));
        try (MmditDenoiser d = MmditDenoiser.load(folder, OnnxOptions.cpu());
             TensorSource golden = Safetensors.open(MmditParityTest.resource(MmditxParityTest.CASE))) {
            assertThat(d.config().selfAttentionLayers()).containsExactly(0);
            assertThat(MmditParityTest.maxDiff(MmditParityTest.run(d, golden), golden, "out_f64_temb64"))
                    .isLessThan(MmditParityTest.TOLERANCE);
        }
    }

    @Test
    void checkpointWithoutPrefixMatchesReference(@TempDir Path dir) {
        Path file = dir.resolve("unprefixed.safetensors");
        try (TensorSource src = Safetensors.open(MmditParityTest.resource("d2_plain/weights.safetensors"))) {
            SafetensorsWriter w = SafetensorsWriter.create();
            for (String name : src.names()) {
                TensorInfo info = src.info(name);
                w.add(name.substring("model.diffusion_model.".length()), info.dtype(), info.shape(), src.bytes(name));
            }
            w.write(file);
        }
        try (MmditDenoiser d = MmditDenoiser.load(file, OnnxOptions.cpu());
             TensorSource golden = Safetensors.open(MmditParityTest.resource("d2_plain/sq8x8.safetensors"))) {
            assertThat(MmditParityTest.maxDiff(MmditParityTest.run(d, golden), golden, "out_f64_temb64"))
                    .isLessThan(MmditParityTest.TOLERANCE);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"d2_plain", "d2_rms"})
    void diffusersFolderMatchesReference(String model, @TempDir Path dir) {
        Path folder = writeDiffusers(MmditParityTest.resource(model + "/weights.safetensors"), dir);
        try (MmditDenoiser d = MmditDenoiser.load(folder, OnnxOptions.cpu())) {
            for (String c : MmditParityTest.CASES) {
                try (TensorSource golden = Safetensors.open(MmditParityTest.resource(model + "/" + c + ".safetensors"))) {
                    assertThat(MmditParityTest.maxDiff(MmditParityTest.run(d, golden), golden, "out_f64_temb64"))
                            .as("%s %s", model, c).isLessThan(MmditParityTest.TOLERANCE);
                }
            }
            assertThat(d.toString()).contains(model.equals("d2_rms") ? "QK-norm" : "SD3 depth 2");
        }
        assertThat(Arrays.asList(dir.toFile().list())).contains("diffusion_pytorch_model.safetensors");
    }
}
