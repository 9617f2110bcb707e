package org.sd3j.train.optim;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
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
        float coefficient = coefficient(norm);
        if (coefficient != 1.0f) {
            for (Tensor g : gradients.values()) {
                g.scale(coefficient);
            }
        }
        return norm;
    }

    /**
     * The factor {@link #clip} multiplies gradients of global norm {@code norm} by: {@code maxNorm / (norm + 1e-6)}
     * in float32 if that is below 1, else exactly 1 (also for a non-finite norm, which the caller handles). Pass it
     * to {@link AdamW#step(Map, double, float)} to clip without a pass of its own.
     */
    public float coefficient(double norm) {
        if (!Double.isFinite(norm)) {
            return 1.0f;
        }
        // torch: clip_coef = max_norm / (total_norm + 1e-6) evaluated as reciprocal(...) * max_norm in float32.
        float coefficient = (1.0f / ((float) norm + NORM_EPSILON)) * (float) maxNorm;
        return coefficient < 1.0f ? coefficient : 1.0f;
    }

    /**
     * The L2 norm over every element of every tensor, accumulated in double: one partial sum per block of
     * elements, the blocks shared out over the cores, the partials added in a fixed order (so the result does not
     * depend on the number of cores).
     *
     * @throws IllegalArgumentException if {@code tensors} or one of its tensors is null
     */
    public static double globalNorm(Map<String, Tensor> tensors) {
        Checks.notNull(tensors, "gradients");
        FloatBuffer[] data = new FloatBuffer[tensors.size()];
        int[] sizes = new int[data.length];
        int t = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            data[t] = Checks.notNull(e.getValue(), "gradients['" + e.getKey() + "']").asFloatBuffer();
            sizes[t] = data[t].limit();
            t++;
        }
        ElementBlocks blocks = new ElementBlocks(sizes);
        double[] partial = new double[blocks.blockCount()];
        List<float[]> scratch = new ArrayList<>();
        for (int w = 0; w < blocks.workers(); w++) {
            scratch.add(new float[ElementBlocks.BLOCK]);
        }
        blocks.forEach(scratch, (block, tensor, from, to, values) -> {
            int n = to - from;
            data[tensor].get(from, values, 0, n);
            partial[block] = sumOfSquares(values, n);
        });
        double sum = 0;
        for (double p : partial) {
            sum += p;
        }
        return Math.sqrt(sum);
    }

    /** Four independent accumulators, so the adds are not one long dependency chain. */
    private static double sumOfSquares(float[] v, int n) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            double a = v[i];
            double b = v[i + 1];
            double c = v[i + 2];
            double d = v[i + 3];
            s0 += a * a;
            s1 += b * b;
            s2 += c * c;
            s3 += d * d;
        }
        for (; i < n; i++) {
            double a = v[i];
            s0 += a * a;
        }
        return (s0 + s1) + (s2 + s3);
    }

    @Override
    public String toString() {
        return "GradientClipping[maxNorm=" + maxNorm + "]";
    }
}
