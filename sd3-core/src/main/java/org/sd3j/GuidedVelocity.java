package org.sd3j;

import org.sd3j.conditioning.Conditioning;
import org.sd3j.guidance.ClassifierFreeGuidance;
import org.sd3j.guidance.SkipLayerGuidance;
import org.sd3j.model.BlockSkippingDenoiser;
import org.sd3j.model.Denoiser;
import org.sd3j.sampler.VelocityModel;
import org.sd3j.tensor.Tensor;

/**
 * The velocity field a sampler sees: the denoiser with classifier-free guidance (batched as
 * {@code [negative, positive]}) and skip-layer guidance applied, a cancellation check before every denoiser
 * call, and output checks. Confined to one run; reuses its input buffers across calls since the denoiser only
 * borrows them.
 */
final class GuidedVelocity implements VelocityModel {
    private final Denoiser denoiser;
    private final Conditioning conditioning;
    private final Conditioning positive;
    private final float guidance;
    private final SkipLayerGuidance skipLayer;
    private final Generation handle;
    private final int batch;
    private final Tensor batchedLatents;
    /** The guided velocity, reused across calls (VelocityModel: valid until the next call). */
    private final Tensor guided;
    private final Tensor timesteps;
    private int scheduleIndex;
    private int completedSteps;
    private int totalScheduleSteps;

    /**
     * @param positive     positive conditioning [B, ...]
     * @param negative     negative conditioning [B, ...], or null when guidance is off
     * @param skipLayer    skip-layer guidance, or null
     */
    GuidedVelocity(Denoiser denoiser, Conditioning positive, Conditioning negative, double guidance,
                   SkipLayerGuidance skipLayer, Generation handle, int[] latentShape) {
        this.denoiser = denoiser;
        this.positive = positive;
        this.guidance = (float) guidance;
        this.skipLayer = negative == null ? null : skipLayer;
        this.handle = handle;
        this.batch = latentShape[0];
        if (negative != null) {
            this.conditioning = Conditioning.concatBatch(negative, positive);
            int[] doubled = latentShape.clone();
            doubled[0] *= 2;
            this.batchedLatents = Tensor.zeros(doubled);
            this.guided = Tensor.zeros(latentShape);
            this.timesteps = Tensor.zeros(2 * batch);
        } else {
            this.conditioning = positive;
            this.batchedLatents = null;
            this.guided = null;
            this.timesteps = Tensor.zeros(batch);
        }
    }

    void beginStep(int scheduleIndex, int completedSteps, int totalScheduleSteps) {
        this.scheduleIndex = scheduleIndex;
        this.completedSteps = completedSteps;
        this.totalScheduleSteps = totalScheduleSteps;
    }

    @Override
    public Tensor velocity(Tensor x, float sigma) {
        handle.checkCanceled(completedSteps);
        timesteps.fill(sigma * 1000f);
        if (batchedLatents == null) {
            return checked(call(x, timesteps, conditioning, x), x, sigma);
        }
        batchedLatents.slice(0, batch).copyFrom(x);
        batchedLatents.slice(batch, 2 * batch).copyFrom(x);
        Tensor both = call(batchedLatents, timesteps, conditioning, batchedLatents);
        ClassifierFreeGuidance.combine(both, guidance, guided);
        if (skipLayer != null && skipLayer.isActive(scheduleIndex, totalScheduleSteps)) {
            handle.checkCanceled(completedSteps);
            Tensor skipped = callSkipping(x, timesteps.slice(batch, 2 * batch));
            skipLayer.apply(guided, both.slice(batch, 2 * batch), skipped);
        }
        return checked(guided, x, sigma);
    }

    private Tensor call(Tensor latents, Tensor t, Conditioning c, Tensor shapeOf) {
        Tensor v = BackendException.wrap("denoiser", "velocity", () -> denoiser.velocity(latents, t, c));
        requireShape(v, shapeOf, "velocity");
        return v;
    }

    private Tensor callSkipping(Tensor x, Tensor t) {
        Tensor v = BackendException.wrap("denoiser", "velocitySkipping",
                () -> ((BlockSkippingDenoiser) denoiser).velocitySkipping(x, t, positive, skipLayer.blocks()));
        requireShape(v, x, "velocitySkipping");
        return v;
    }

    private static void requireShape(Tensor v, Tensor expected, String operation) {
        if (v == null || !v.hasShape(expected.shape())) {
            throw new BackendException("denoiser", operation, "returned " + v + " for latents " + expected
                    + "; expected the same shape");
        }
    }

    private Tensor checked(Tensor v, Tensor x, float sigma) {
        if (!v.allFinite()) {
            throw new BackendException("denoiser", "velocity", "returned non-finite values at step "
                    + (scheduleIndex + 1) + " (sigma " + sigma + ") for latents " + x
                    + "; check the weights and the precision (fp16 overflow)");
        }
        return v;
    }
}
