package org.sd3j.onnx.lora;

/**
 * Where a model stores the weight a LoRA module adapts: the tensor (checkpoint tensor or ONNX initializer), the rows
 * of its output dimension the module covers, and how the tensor is laid out.
 *
 * @param tensor      the stored tensor's name, e.g. {@code model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight}
 * @param moduleRow   the first row of the module's output (of its B) stored here: 0, or {@code part * D} when a
 *                    fused qkv module is stored as three q, k, v tensors
 * @param firstRow    the first row of the tensor this covers (q: 0, k: D, v: 2D of a fused qkv tensor)
 * @param rows        how many rows it covers
 * @param outFeatures the tensor's output size (all its rows)
 * @param inFeatures  its input size
 * @param transposed  stored as [in, out] (a MatMul's right operand) instead of [out, in]
 * @param swapHalves  the module's output rows are stored with their two halves exchanged (diffusers' (scale, shift)
 *                    order of the 2-chunk adaLN layers)
 */
public record StoredLinear(String tensor, long moduleRow, long firstRow, long rows, long outFeatures,
                           long inFeatures, boolean transposed, boolean swapHalves) {
    /** The graph's adapter key: the tensor's name without {@code .weight}. */
    public String key() {
        return tensor.endsWith(".weight") ? tensor.substring(0, tensor.length() - ".weight".length()) : tensor;
    }
}
