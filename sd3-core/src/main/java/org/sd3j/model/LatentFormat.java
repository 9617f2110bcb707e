package org.sd3j.model;

import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * How a VAE's latents relate to the denoiser's: channel count, spatial downscale and the affine map between
 * the two spaces (SPEC §4). Denoiser space = {@code (vae - shift) * scaling}; VAE space =
 * {@code denoiser / scaling + shift}. Backends read these from the model's config.
 *
 * @param channels      latent channels (16 for SD3)
 * @param downscale     pixels per latent cell along each axis (8 for SD3)
 * @param scalingFactor multiplies VAE latents (1.5305 for SD3)
 * @param shiftFactor   subtracted from VAE latents before scaling (0.0609 for SD3)
 */
public record LatentFormat(int channels, int downscale, double scalingFactor, double shiftFactor) {
    /** SD3 / SD3.5's 16-channel autoencoder. */
    public static final LatentFormat SD3 = new LatentFormat(16, 8, 1.5305, 0.0609);

    public LatentFormat {
        Checks.atLeast(channels, 1, "channels");
        Checks.atLeast(downscale, 1, "downscale");
        Checks.finitePositive(scalingFactor, "scalingFactor");
        Checks.finite(shiftFactor, "shiftFactor");
    }

    /** A new tensor in denoiser space from VAE-space latents: {@code (z - shift) * scaling}. */
    public Tensor toDenoiserSpace(Tensor vaeLatents) {
        Tensor out = vaeLatents.copy();
        float shift = (float) shiftFactor;
        float scale = (float) scalingFactor;
        for (int i = 0; i < out.size(); i++) {
            out.set(i, (out.get(i) - shift) * scale);
        }
        return out;
    }

    /** A new tensor in VAE space from denoiser-space latents: {@code z / scaling + shift}. */
    public Tensor toVaeSpace(Tensor latents) {
        Tensor out = latents.copy();
        float shift = (float) shiftFactor;
        float scale = (float) scalingFactor;
        for (int i = 0; i < out.size(); i++) {
            out.set(i, out.get(i) / scale + shift);
        }
        return out;
    }

    /** Latent shape {@code [batch, channels, height/downscale, width/downscale]} for an image size. */
    public int[] latentShape(int batch, int width, int height) {
        if (width % downscale != 0 || height % downscale != 0) {
            throw Checks.fail("size", "a multiple of " + downscale + " on both sides", width + "x" + height);
        }
        return new int[] {batch, channels, height / downscale, width / downscale};
    }
}
