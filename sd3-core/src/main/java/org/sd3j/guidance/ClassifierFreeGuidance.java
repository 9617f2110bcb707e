package org.sd3j.guidance;

import java.util.Arrays;

import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * Classifier-free guidance (SPEC §2.7): the denoiser sees the batch {@code [negative, positive]} and the
 * velocities combine as {@code v = v_neg + g * (v_pos - v_neg)}, in float32 as diffusers computes it.
 * Guidance is on only for {@code g > 1}, as in diffusers.
 */
public final class ClassifierFreeGuidance {
    private ClassifierFreeGuidance() {
    }

    /** Whether a guidance scale turns classifier-free guidance on ({@code g > 1}). */
    public static boolean isEnabled(double scale) {
        return scale > 1.0;
    }

    /**
     * Combines a batched prediction {@code [2B, ...]} laid out as {@code [negative(B), positive(B)]} into
     * {@code out} ({@code [B, ...]}).
     *
     * @return {@code out}
     */
    public static Tensor combine(Tensor batched, float scale, Tensor out) {
        Checks.notNull(batched, "batched");
        Checks.notNull(out, "out");
        int half = out.size();
        int[] expected = out.shape();
        if (expected.length > 0) {
            expected[0] *= 2;
        }
        // The whole shape, not just the element count: [2, 2, 2] must not pass for out [1, 4].
        if (expected.length == 0 || !batched.hasShape(expected)) {
            throw Checks.fail("batched", "[2B, ...] for out " + out, batched);
        }
        for (int i = 0; i < half; i++) {
            float neg = batched.get(i);
            float pos = batched.get(half + i);
            out.set(i, neg + scale * (pos - neg));
        }
        return out;
    }

    /** {@code v_neg + g * (v_pos - v_neg)} as a new tensor, for separate negative and positive predictions. */
    public static Tensor combine(Tensor negative, Tensor positive, float scale) {
        Checks.notNull(negative, "negative");
        Checks.notNull(positive, "positive");
        if (!Arrays.equals(negative.shape(), positive.shape())) {
            throw Checks.fail("positive", "shaped like negative " + negative, positive);
        }
        Tensor out = Tensor.zeros(negative.shape());
        for (int i = 0; i < out.size(); i++) {
            float neg = negative.get(i);
            out.set(i, neg + scale * (positive.get(i) - neg));
        }
        return out;
    }
}
