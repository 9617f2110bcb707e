package org.sd3j;

import java.util.Set;

import org.sd3j.conditioning.Conditioning;
import org.sd3j.model.BindingDenoiser;
import org.sd3j.model.BlockSkippingDenoiser;
import org.sd3j.model.BoundDenoiser;
import org.sd3j.model.Denoiser;
import org.sd3j.tensor.Tensor;

/**
 * Binds any denoiser: {@link BindingDenoiser}s bind themselves; others are called through
 * {@link Denoiser#velocity} (or {@link BlockSkippingDenoiser#velocitySkipping}) with their result checked and
 * copied into the output, so fakes and mocks keep working unchanged.
 */
final class CallingBoundDenoiser implements BoundDenoiser {
    private final Denoiser denoiser;
    private final Conditioning conditioning;
    private final Set<Integer> skipped;

    private CallingBoundDenoiser(Denoiser denoiser, Conditioning conditioning, Set<Integer> skipped) {
        this.denoiser = denoiser;
        this.conditioning = conditioning;
        this.skipped = skipped;
    }

    static BoundDenoiser bind(Denoiser denoiser, Conditioning conditioning, Set<Integer> skipped) {
        if (denoiser instanceof BindingDenoiser) {
            BoundDenoiser b = BackendException.wrap("denoiser", "bind",
                    () -> ((BindingDenoiser) denoiser).bind(conditioning, skipped));
            if (b == null) {
                throw new BackendException("denoiser", "bind", "returned null");
            }
            return b;
        }
        return new CallingBoundDenoiser(denoiser, conditioning, skipped);
    }

    @Override
    public void velocity(Tensor latents, Tensor timesteps, Tensor out) {
        String operation = skipped.isEmpty() ? "velocity" : "velocitySkipping";
        Tensor v = BackendException.wrap("denoiser", operation, () -> skipped.isEmpty()
                ? denoiser.velocity(latents, timesteps, conditioning)
                : ((BlockSkippingDenoiser) denoiser).velocitySkipping(latents, timesteps, conditioning, skipped));
        if (v == null || !v.hasShape(latents.shape())) {
            throw new BackendException("denoiser", operation, "returned " + v + " for latents " + latents
                    + "; expected the same shape");
        }
        out.copyFrom(v);
    }

    @Override
    public void close() {
    }
}
