package org.sd3j.train.lora;

import java.util.Map;

import org.sd3j.onnx.lora.MmditModules;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditWeights;

/**
 * The weight shapes of an MMDiT's Linear modules under their original names ({@code <module>.weight} ->
 * [out, in]), the map {@link LoraTargets#select(Map)}, {@link LoraWeights#initialize} and
 * {@link LoraFiles#read(java.nio.file.Path, Map)} work on. Order: the embedders, then block by block (x stream,
 * then context stream), then the final layer. (The shapes are {@link MmditModules}', which inference uses too.)
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
        return MmditModules.linearShapes(config);
    }

    /**
     * The shapes of the Linear weights present in a checkpoint, whatever its layout (diffusers' separate q/k/v
     * are reported fused, as the original stores them). Reads headers only.
     */
    public static Map<String, long[]> of(MmditWeights weights) {
        return MmditModules.linearShapes(weights);
    }
}
