package org.sd3j.model;

import org.sd3j.conditioning.Conditioning;
import org.sd3j.tensor.Tensor;

/**
 * The flow model: predicts the velocity {@code v = eps - x0} at noisy latents (SPEC §1).
 *
 * <p>Implementations must accept concurrent calls. The inputs are borrowed (read them, don't keep or change
 * them); the returned tensor belongs to the caller.
 */
public interface Denoiser {

    /**
     * One forward pass.
     *
     * @param latents      {@code [B, C, H, W]} noisy latents (C = 16 for SD3), in the denoiser's latent space
     * @param timesteps    {@code [B]} timesteps {@code sigma * 1000}
     * @param conditioning context {@code [B, S, D]} and pooled {@code [B, P]}
     * @return velocity {@code [B, C, H, W]}
     */
    Tensor velocity(Tensor latents, Tensor timesteps, Conditioning conditioning);

    /** A short model name for logs and image metadata. */
    default String name() {
        return getClass().getSimpleName();
    }
}
