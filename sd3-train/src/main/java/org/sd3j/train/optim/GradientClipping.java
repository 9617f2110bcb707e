package org.sd3j.train.optim;

import java.nio.FloatBuffer;
import java.util.Map;

import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * Clips gradients by their global L2 norm, as {@code torch.nn.utils.clip_grad_norm_} does: the norm over all
 * elements of all tensors; if it exceeds {@code maxNorm}, every gradient is multiplied by
 * {@code maxNorm / (norm + 1e-6)} (in float32, like torch). Immutable and thread-safe (the gradients it clips are
 * not).
 *
 * <p>The norm is accumulated in double, so it can differ from torch's float32 reduction in the last bits.
 * Unlike torch, a non-finite norm (NaN or infinite gradients) leaves the gradients untouched: the caller sees the
 * returned norm and decides (skip the step, or stop with {@link org.sd3j.TrainingDivergedException}).
 */
public final class GradientClipping {
    /** SPEC §7's default maximum norm. */
    public static final double DEFAULT_MAX_NORM = 1.0;
    /** torch's guard against division by a zero norm. */
    private static final float NORM_EPSILON = 1e-6f;

    private final double maxNorm;

    private GradientClipping(double maxNorm) {
        this.maxNorm = maxNorm;
    }

    /** Clipping to {@link #DEFAULT_MAX_NORM}. */
    public static GradientClipping defaults() {
        return new GradientClipping(DEFAULT_MAX_NORM);
    }

    /** @throws IllegalArgumentException if {@code maxNorm} is not finite and {@code > 0} */
    public static GradientClipping toMaxNorm(double maxNorm) {
        return new GradientClipping(Checks.finitePositive(maxNorm, "maxNorm"));
    }

    public double maxNorm() {
        return maxNorm;
    }

    /**
     * Scales {@code gradients} in place so that their global norm is at most {@link #maxNorm()}.
     *
     * @return the global norm before clipping (NaN or infinite if a gradient is)
     * @throws IllegalArgumentException if {@code gradients} or one of its tensors is null
     */
    public double clip(Map<String, Tensor> gradients) {
        double norm = globalNorm(gradients);
        if (!Double.isFinite(norm)) {
            return norm;
        }
        // torch: clip_coef = max_norm / (total_norm + 1e-6) evaluated as reciprocal(...) * max_norm in float32.
        float coefficient = (1.0f / ((float) norm + NORM_EPSILON)) * (float) maxNorm;
        if (coefficient < 1.0f) {
            for (Tensor g : gradients.values()) {
                g.scale(coefficient);
            }
        }
        return norm;
    }

    /**
     * The L2 norm over every element of every tensor, accumulated in double.
     *
     * @throws IllegalArgumentException if {@code tensors} or one of its tensors is null
     */
    public static double globalNorm(Map<String, Tensor> tensors) {
        Checks.notNull(tensors, "gradients");
        double sum = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            FloatBuffer b = Checks.notNull(e.getValue(), "gradients['" + e.getKey() + "']").asFloatBuffer();
            int n = b.limit();
            for (int i = 0; i < n; i++) {
                double x = b.get(i);
                sum += x * x;
            }
        }
        return Math.sqrt(sum);
    }

    @Override
    public String toString() {
        return "GradientClipping[maxNorm=" + maxNorm + "]";
    }
}
