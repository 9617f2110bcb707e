package org.sd3j.sampler;

import org.sd3j.tensor.Tensor;

/**
 * The velocity field a sampler integrates: the denoiser with guidance applied, as the pipeline wires it.
 */
@FunctionalInterface
public interface VelocityModel {

    /**
     * @param x     latents {@code [B, C, H, W]}, borrowed: read them, don't keep or change them
     * @param sigma noise level in [0, 1]
     * @return velocity {@code [B, C, H, W]}, valid until the next call on this model: the sampler may overwrite
     *         it, and must copy what it needs to keep across calls (implementations reuse the buffer)
     */
    Tensor velocity(Tensor x, float sigma);
}
