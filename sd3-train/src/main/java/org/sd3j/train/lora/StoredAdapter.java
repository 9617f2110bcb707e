package org.sd3j.train.lora;

/**
 * One adapter as a file stores it, found from tensor names alone (no data read yet). Internal.
 *
 * @param module    the file's module name, e.g. {@code transformer.transformer_blocks.0.attn.to_q}
 * @param aName     the tensor holding A (lora_A / lora_down)
 * @param bName     the tensor holding B (lora_B / lora_up)
 * @param alphaName the scalar alpha tensor, or null
 * @param original  the original module it adapts
 * @param part      0, 1, 2 for the q, k, v rows of a fused qkv; {@link ModuleNames.Part#WHOLE} otherwise
 */
record StoredAdapter(String module, String aName, String bName, String alphaName, String original, int part) {
    boolean isSlice() {
        return part != ModuleNames.Part.WHOLE;
    }
}
