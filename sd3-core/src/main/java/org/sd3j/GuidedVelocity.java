package org.sd3j;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.sd3j.conditioning.Conditioning;
import org.sd3j.guidance.ClassifierFreeGuidance;
import org.sd3j.guidance.SkipLayerGuidance;
import org.sd3j.internal.Closeables;
import org.sd3j.model.BoundDenoiser;
import org.sd3j.model.Denoiser;
import org.sd3j.sampler.VelocityModel;
import org.sd3j.tensor.Tensor;

/**
 * The velocity field a sampler sees: the denoiser with classifier-free guidance (batched as
 * {@code [negative, positive]}, or as two calls in {@link GuidanceBatching#SEQUENTIAL} mode) and skip-layer
 * guidance applied, a cancellation check before every denoiser call, and output checks.
 *
 * <p>Confined to one run. The conditioning is bound to the denoiser once ({@link BoundDenoiser}) and the same
 * input and output tensors are passed on every step, so a binding backend allocates nothing per step. The bound
 * denoisers are registered with the {@link Generation} so that {@code cancel()} aborts a call in flight.
 * {@link #close()} releases the bindings.
 */
final class GuidedVelocity implements VelocityModel, AutoCloseable {
    private final Denoiser denoiser;
    private final Conditioning positive;
    private final float guidance;
    private final SkipLayerGuidance skipLayer;
    private final Generation handle;
    private final int batch;
    private final List<BoundDenoiser> bound = new ArrayList<>();
    /** Unguided or batched: the one binding; sequential: the negative half's. */
    private final BoundDenoiser first;
    /** Sequential CFG: the positive half's binding; else null. */
    private final BoundDenoiser second;
    private BoundDenoiser skipping;
    private final Tensor batchedLatents;
    /** The denoiser's output: [2B] with CFG ([negative, positive]), else [B]. */
    private final Tensor raw;
    private final Tensor rawNegative;
    private final Tensor rawPositive;
    /** The guided velocity, reused across calls (VelocityModel: valid until the next call). */
    private final Tensor guided;
    private final Tensor skipped;
    private final Tensor timesteps;
    private final Tensor halfTimesteps;
    private int scheduleIndex;
    private int completedSteps;
    private int totalScheduleSteps;

    /**
     * @param positive  positive conditioning [B, ...]
     * @param negative  negative conditioning [B, ...], or null when guidance is off
     * @param skipLayer skip-layer guidance, or null
     * @param batching  how the two CFG halves are run
     */
    GuidedVelocity(Denoiser denoiser, Conditioning positive, Conditioning negative, double guidance,
                   SkipLayerGuidance skipLayer, Generation handle, int[] latentShape, GuidanceBatching batching) {
        this.denoiser = denoiser;
        this.positive = positive;
        this.guidance = (float) guidance;
        this.skipLayer = negative == null ? null : skipLayer;
        this.handle = handle;
        this.batch = latentShape[0];
        try {
            if (negative == null) {
                first = bind(positive, Set.of());
                second = null;
                batchedLatents = null;
                raw = Tensor.zeros(latentShape);
                rawNegative = null;
                rawPositive = raw;
                guided = null;
                timesteps = Tensor.zeros(batch);
            } else {
                int[] doubled = latentShape.clone();
                doubled[0] *= 2;
                raw = Tensor.zeros(doubled);
                rawNegative = raw.slice(0, batch);
                rawPositive = raw.slice(batch, 2 * batch);
                guided = Tensor.zeros(latentShape);
                if (batching == GuidanceBatching.SEQUENTIAL) {
                    first = bind(negative, Set.of());
                    second = bind(positive, Set.of());
                    batchedLatents = null;
                    timesteps = Tensor.zeros(batch);
                } else {
                    first = bind(Conditioning.concatBatch(negative, positive), Set.of());
                    second = null;
                    batchedLatents = Tensor.zeros(doubled);
                    timesteps = Tensor.zeros(2 * batch);
                }
            }
            this.halfTimesteps = timesteps.dim(0) == batch ? timesteps : timesteps.slice(batch, 2 * batch);
            this.skipped = this.skipLayer == null ? null : Tensor.zeros(latentShape);
        } catch (RuntimeException | Error e) {
            close(e);
            throw e;
        }
    }

    private BoundDenoiser bind(Conditioning c, Set<Integer> blocks) {
        BoundDenoiser b = CallingBoundDenoiser.bind(denoiser, c, blocks);
        bound.add(b);
        handle.register(b);
        return b;
    }

    void beginStep(int scheduleIndex, int completedSteps, int totalScheduleSteps) {
        this.scheduleIndex = scheduleIndex;
        this.completedSteps = completedSteps;
        this.totalScheduleSteps = totalScheduleSteps;
    }

    @Override
    public Tensor velocity(Tensor x, float sigma) {
        timesteps.fill(sigma * 1000f);
        if (guided == null) {
            call(first, x, timesteps, raw);
            return checked(raw, x, sigma);
        }
        if (second != null) {
            call(first, x, timesteps, rawNegative);
            call(second, x, timesteps, rawPositive);
        } else {
            batchedLatents.slice(0, batch).copyFrom(x);
            batchedLatents.slice(batch, 2 * batch).copyFrom(x);
            call(first, batchedLatents, timesteps, raw);
        }
        ClassifierFreeGuidance.combine(raw, guidance, guided);
        if (skipLayer != null && skipLayer.isActive(scheduleIndex, totalScheduleSteps)) {
            if (skipping == null) {
                skipping = bind(positive, skipLayer.blocks());
            }
            call(skipping, x, halfTimesteps, skipped);
            skipLayer.apply(guided, rawPositive, skipped);
        }
        return checked(guided, x, sigma);
    }

    /** One denoiser call: canceled before it starts, and a call aborted by cancel() reports the cancellation. */
    private void call(BoundDenoiser d, Tensor latents, Tensor t, Tensor out) {
        handle.checkCanceled(completedSteps);
        try {
            d.velocity(latents, t, out);
        } catch (RuntimeException e) {
            if (handle.isCanceled()) {
                GenerationCanceledException canceled = handle.canceledException(completedSteps);
                canceled.addSuppressed(e);
                throw canceled;
            }
            throw e instanceof Sd3Exception ? e : new BackendException("denoiser", "velocity", e.toString(), e);
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

    @Override
    public void close() {
        for (BoundDenoiser b : bound) {
            handle.unregister(b);
        }
        Closeables.closeAll(bound);
    }

    private void close(Throwable original) {
        try {
            close();
        } catch (RuntimeException | Error secondary) {
            original.addSuppressed(secondary);
        }
    }
}
