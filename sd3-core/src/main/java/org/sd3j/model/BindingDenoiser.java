package org.sd3j.model;

import java.util.Set;

import org.sd3j.conditioning.Conditioning;

/**
 * A denoiser that can bind one generation's conditioning for its whole sampling loop: a backend's way to reuse
 * buffers across steps and to abort a forward pass in flight when a generation is canceled. The pipeline binds
 * any denoiser that implements this; other denoisers (and mocks) are called through
 * {@link Denoiser#velocity} as before.
 */
public interface BindingDenoiser extends Denoiser {

    /**
     * Binds {@code conditioning} (context {@code [B, S, D]}, pooled {@code [B, P]}; borrowed: keep it unchanged
     * until the result is closed).
     *
     * @param skippedBlocks blocks to bypass (skip-layer guidance); empty for the full network. Non-empty sets need
     *                      a {@link BlockSkippingDenoiser}
     * @return a bound denoiser that the caller closes
     */
    BoundDenoiser bind(Conditioning conditioning, Set<Integer> skippedBlocks);
}
