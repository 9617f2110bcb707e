package org.sd3j.onnx.lora;

import org.sd3j.tensor.Tensor;

/**
 * One adapter's tensors as read from a file: the layer it adapts computes {@code W x + (alpha / r) * B (A x)}.
 * B's rows are in the canonical (original checkpoint) order: diffusers' (scale, shift) storage of the 2-chunk
 * adaLN layers is already swapped back. The tensors are new and belong to the caller.
 *
 * @param module the adapter's module
 * @param a      A [r, in]
 * @param b      B [out, r] (out = D for a q/k/v slice)
 * @param alpha  finite and {@code > 0}
 */
public record LoraTensors(LoraModule module, Tensor a, Tensor b, double alpha) {
    /** r. */
    public int rank() {
        return a.dim(0);
    }

    /** {@code alpha / r}. */
    public double scale() {
        return alpha / rank();
    }
}
