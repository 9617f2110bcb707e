package org.sd3j.onnx.graph;

/**
 * Sees the Linear layers of an architecture's graph as they are emitted and may add to their outputs: LoRA adapters
 * for training and for switchable inference. Called once per Linear, in graph order.
 */
@FunctionalInterface
public interface LinearAdapter {
    /**
     * @param key         the weight's name in its checkpoint without {@code .weight}, e.g.
     *                    {@code model.diffusion_model.joint_blocks.0.x_block.attn.qkv}
     * @param firstRow    the first row of that weight this Linear uses: {@code part * D} for q, k, v of a fused
     *                    qkv, else 0 (the Linear uses {@code y}'s last dimension of rows from there)
     * @param x           the Linear's input {@code [..., in]}
     * @param y           its output {@code [..., out]}
     * @param leadingDims run-time int64 {@code [B, T]} of a 3-D {@code x}, or null for a 2-D one
     * @return the output to use instead of {@code y}
     */
    Value adapt(GraphBuilder g, String key, long firstRow, Value x, Value y, Value leadingDims);
}
