package org.sd3j.model;

import org.sd3j.tensor.Tensor;

/**
 * The autoencoder between images and latents. Works in VAE space; the pipeline converts to and from the
 * denoiser's space with {@link #latentFormat()}.
 *
 * <p>Implementations must accept concurrent calls. Inputs are borrowed; results belong to the caller.
 */
public interface Vae {

    /** Channels, downscale and the scaling/shift between VAE and denoiser latent spaces. */
    LatentFormat latentFormat();

    /**
     * Encodes images.
     *
     * @param images {@code [B, 3, H, W]} in [-1, 1]
     * @return the latent distribution, {@code [B, C, H/f, W/f]} each
     */
    LatentDistribution encode(Tensor images);

    /**
     * Decodes latents.
     *
     * @param latents {@code [B, C, h, w]} in VAE space
     * @return images {@code [B, 3, h*f, w*f]}, nominally in [-1, 1]
     */
    Tensor decode(Tensor latents);
}
