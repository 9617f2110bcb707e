package org.sd3j.onnx.lora;

/**
 * One adapter as a LoRA file stores it, found from tensor names alone (no data read yet).
 *
 * @param component the model part it adapts
 * @param fileModule the file's module name, e.g. {@code transformer.transformer_blocks.0.attn.to_q}
 * @param aName      the tensor holding A (lora_A / lora_down)
 * @param bName      the tensor holding B (lora_B / lora_up)
 * @param alphaName  the scalar alpha tensor, or null
 * @param module     the canonical module it adapts: the original checkpoint name for the MMDiT
 *                   ({@code joint_blocks.0.x_block.attn.qkv}), the transformers name for CLIP
 *                   ({@code text_model.encoder.layers.0.self_attn.q_proj})
 * @param part       0, 1, 2 for the q, k, v rows of a fused MMDiT qkv; {@link MmditModules.Part#WHOLE} otherwise
 */
public record LoraModule(LoraComponent component, String fileModule, String aName, String bName, String alphaName,
                         String module, int part) {
    /** Whether this adapts the q, k or v rows of a fused projection. */
    public boolean isSlice() {
        return part != MmditModules.Part.WHOLE;
    }

    /** {@code module} plus, for a slice, its rows: {@code joint_blocks.0.x_block.attn.qkv (k rows)}. */
    public String describeTarget() {
        return module + (isSlice() ? " (" + "qkv".charAt(part) + " rows)" : "");
    }
}
