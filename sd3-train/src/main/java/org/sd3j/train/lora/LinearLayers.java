package org.sd3j.train.lora;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import org.sd3j.internal.Checks;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditWeights;

/**
 * The weight shapes of an MMDiT's Linear modules under their original names ({@code <module>.weight} ->
 * [out, in]), the map {@link LoraTargets#select(Map)}, {@link LoraWeights#initialize} and
 * {@link LoraFiles#read(java.nio.file.Path, Map)} work on. Order: the embedders, then block by block (x stream,
 * then context stream), then the final layer.
 */
public final class LinearLayers {
    private LinearLayers() {
    }

    /**
     * The shapes implied by a configuration: per block qkv [3D, D], proj [D, D], fc1 [mlp, D], fc2 [D, mlp],
     * adaLN [6D, D] ([9D, D] for MMDiT-X x blocks, with attn2); the last block's context stream has only qkv and a
     * 2-chunk adaLN [2D, D].
     */
    public static Map<String, long[]> of(MmditConfig config) {
        Checks.notNull(config, "config");
        long d = config.hiddenSize();
        long mlp = config.mlpHidden();
        Map<String, long[]> out = new LinkedHashMap<>();
        put(out, "t_embedder.mlp.0", d, MmditConfig.FREQUENCY_EMBEDDING);
        put(out, "t_embedder.mlp.2", d, d);
        put(out, "y_embedder.mlp.0", d, config.pooledDim());
        put(out, "y_embedder.mlp.2", d, d);
        put(out, "context_embedder", d, config.contextDim());
        for (int i = 0; i < config.depth(); i++) {
            boolean last = i == config.depth() - 1;
            boolean mmditX = config.selfAttentionLayers().contains(i);
            String x = "joint_blocks." + i + ".x_block.";
            put(out, x + "attn.qkv", 3 * d, d);
            put(out, x + "attn.proj", d, d);
            if (mmditX) {
                put(out, x + "attn2.qkv", 3 * d, d);
                put(out, x + "attn2.proj", d, d);
            }
            put(out, x + "mlp.fc1", mlp, d);
            put(out, x + "mlp.fc2", d, mlp);
            put(out, x + "adaLN_modulation.1", (mmditX ? 9 : 6) * d, d);
            String c = "joint_blocks." + i + ".context_block.";
            put(out, c + "attn.qkv", 3 * d, d);
            if (!last) {
                put(out, c + "attn.proj", d, d);
                put(out, c + "mlp.fc1", mlp, d);
                put(out, c + "mlp.fc2", d, mlp);
            }
            put(out, c + "adaLN_modulation.1", (last ? 2 : 6) * d, d);
        }
        long patchOut = (long) config.patchSize() * config.patchSize() * config.outChannels();
        put(out, "final_layer.linear", patchOut, d);
        put(out, "final_layer.adaLN_modulation.1", 2 * d, d);
        return Collections.unmodifiableMap(out);
    }

    /**
     * The shapes of the Linear weights present in a checkpoint, whatever its layout (diffusers' separate q/k/v
     * are reported fused, as the original stores them). Reads headers only.
     */
    public static Map<String, long[]> of(MmditWeights weights) {
        Checks.notNull(weights, "weights");
        Map<String, long[]> out = new LinkedHashMap<>();
        for (String top : ModuleNames.TOP_MODULES.subList(0, 5)) {
            putIfPresent(out, weights, top);
        }
        for (int i = 0; i < weights.blockCount(); i++) {
            for (String stream : new String[] {"x_block", "context_block"}) {
                for (String sub : ModuleNames.BLOCK_MODULES) {
                    if (stream.equals("context_block") && sub.startsWith("attn2.")) {
                        continue; // only image streams have attn2; diffusers would answer with add_q_proj
                    }
                    putIfPresent(out, weights, "joint_blocks." + i + "." + stream + "." + sub);
                }
            }
        }
        for (String top : ModuleNames.TOP_MODULES.subList(5, ModuleNames.TOP_MODULES.size())) {
            putIfPresent(out, weights, top);
        }
        return Collections.unmodifiableMap(out);
    }

    private static void putIfPresent(Map<String, long[]> out, MmditWeights weights, String module) {
        String name = module + ".weight";
        if (weights.has(name)) {
            out.put(name, weights.shape(name));
        }
    }

    private static void put(Map<String, long[]> out, String module, long rows, long cols) {
        out.put(module + ".weight", new long[] {rows, cols});
    }
}
