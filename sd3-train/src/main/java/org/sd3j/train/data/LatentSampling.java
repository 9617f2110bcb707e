package org.sd3j.train.data;

/** Which latent of a cached image's VAE distribution a training batch uses. */
public enum LatentSampling {
    /** {@code mean + exp(logvar / 2) * eps} with seeded noise, fresh per epoch (what diffusers' scripts train on). */
    SAMPLE,
    /** The distribution's mean: the same latent every epoch. */
    MEAN
}
