package org.sd3j.onnx.lora;

import org.sd3j.tensor.Tensor;

/**
 * One adapter of one weighted LoRA, ready to apply to a stored weight: the change it makes is
 * {@code scale * B A} on rows {@code [at.firstRow(), at.firstRow() + at.rows())} of {@code at.tensor()}.
 *
 * @param at    where the adapted weight is stored
 * @param a     A [r, in]
 * @param b     B [at.rows(), r], rows in the stored order
 * @param scale {@code weight * alpha / r}
 */
public record PlacedAdapter(StoredLinear at, Tensor a, Tensor b, double scale) {
    public int rank() {
        return a.dim(0);
    }
}
