package org.sd3j.sampler;

import org.sd3j.tensor.Tensor;

/**
 * One sampling run's state (e.g. DPM++ 2M's previous estimate). Created by {@link Sampler#start}, confined
 * to the thread running the generation, used once.
 */
public interface SamplerRun {

    /**
     * Advances {@code x} in place from {@code sigmas.get(index)} to {@code sigmas.get(index + 1)}. Steps are
     * called in increasing order, possibly starting above 0 (img2img).
     *
     * @param index step index in {@code [0, steps)}
     * @param x     latents {@code [B, C, H, W]}, updated in place
     * @param model the velocity field; each call is one (guided) denoiser evaluation
     */
    void step(int index, Tensor x, VelocityModel model);
}
