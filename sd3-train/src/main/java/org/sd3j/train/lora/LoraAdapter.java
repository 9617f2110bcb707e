package org.sd3j.train.lora;

import java.nio.FloatBuffer;

import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * One LoRA adapter on a Linear weight W [out, in]: the layer computes {@code W x + (alpha / r) * B (A x)}.
 *
 * <p>The record holds its tensors by reference (no copy): in a {@link LoraWeights} they are the trainable
 * parameters the optimizer updates in place. Not thread-safe while they are being written.
 *
 * @param a     the down projection A ({@code lora_A}, kohya's {@code lora_down}), shape [r, in]
 * @param b     the up projection B ({@code lora_B}, kohya's {@code lora_up}), shape [out, r]
 * @param alpha finite and {@code > 0}; the scale is {@code alpha / r}
 */
public record LoraAdapter(Tensor a, Tensor b, double alpha) {

    /**
     * @throws IllegalArgumentException if a tensor is null or not 2-D, the ranks disagree, r is 0, or alpha is not
     *                                  finite and positive
     */
    public LoraAdapter {
        Checks.notNull(a, "a");
        Checks.notNull(b, "b");
        if (a.rank() != 2 || a.dim(0) < 1) {
            throw new IllegalArgumentException("a must have shape [r >= 1, in], found " + a);
        }
        if (b.rank() != 2 || b.dim(1) != a.dim(0)) {
            throw new IllegalArgumentException("b must have shape [out, " + a.dim(0) + "] to match a " + a
                    + ", found " + b);
        }
        Checks.finitePositive(alpha, "alpha");
    }

    /** r. */
    public int rank() {
        return a.dim(0);
    }

    public int inFeatures() {
        return a.dim(1);
    }

    public int outFeatures() {
        return b.dim(0);
    }

    /** {@code alpha / r}. */
    public double scale() {
        return alpha / rank();
    }

    /**
     * The weight change this adapter makes, {@code (alpha / r) * B A}, as a new [out, in] tensor (accumulated in
     * double, rounded once). For merging into W and for tests; O(out * in * r).
     */
    public Tensor delta() {
        int out = outFeatures();
        int in = inFeatures();
        int r = rank();
        FloatBuffer fa = a.asFloatBuffer();
        FloatBuffer fb = b.asFloatBuffer();
        double s = scale();
        Tensor d = Tensor.zeros(out, in);
        double[] row = new double[in];
        for (int o = 0; o < out; o++) {
            java.util.Arrays.fill(row, 0);
            for (int k = 0; k < r; k++) {
                double bk = fb.get(o * r + k);
                if (bk == 0) {
                    continue;
                }
                for (int i = 0; i < in; i++) {
                    row[i] += bk * fa.get(k * in + i);
                }
            }
            for (int i = 0; i < in; i++) {
                d.set(o * in + i, (float) (s * row[i]));
            }
        }
        return d;
    }
}
