package org.sd3j.model;

import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * The VAE encoder's diagonal Gaussian over latents (SPEC §4), in VAE space.
 *
 * @param mean   {@code [B, C, h, w]}
 * @param logvar {@code [B, C, h, w]}
 */
public record LatentDistribution(Tensor mean, Tensor logvar) {
    public LatentDistribution {
        Checks.notNull(mean, "mean");
        Checks.notNull(logvar, "logvar");
        if (!logvar.hasShape(mean.shape())) {
            throw Checks.fail("logvar", "shaped like mean " + mean, logvar);
        }
    }

    /**
     * Splits encoder moments {@code [B, 2C, h, w]} (mean then logvar along channels) into a distribution.
     */
    public static LatentDistribution fromMoments(Tensor moments) {
        Checks.notNull(moments, "moments");
        int[] s = moments.shape();
        if (s.length != 4 || s[1] % 2 != 0) {
            throw Checks.fail("moments", "[B, 2C, h, w]", moments);
        }
        int c = s[1] / 2;
        int plane = s[2] * s[3];
        Tensor mean = Tensor.zeros(s[0], c, s[2], s[3]);
        Tensor logvar = Tensor.zeros(s[0], c, s[2], s[3]);
        for (int b = 0; b < s[0]; b++) {
            for (int i = 0; i < c * plane; i++) {
                mean.set(b * c * plane + i, moments.get(b * 2 * c * plane + i));
                logvar.set(b * c * plane + i, moments.get(b * 2 * c * plane + c * plane + i));
            }
        }
        return new LatentDistribution(mean, logvar);
    }

    /** {@code mean + exp(0.5 * clamp(logvar, -30, 20)) * noise}, a new tensor. */
    public Tensor sample(Tensor noise) {
        if (!noise.hasShape(mean.shape())) {
            throw Checks.fail("noise", "shaped like mean " + mean, noise);
        }
        Tensor out = Tensor.zeros(mean.shape());
        for (int i = 0; i < out.size(); i++) {
            float lv = Math.min(Math.max(logvar.get(i), -30f), 20f);
            out.set(i, mean.get(i) + (float) Math.exp(0.5f * lv) * noise.get(i));
        }
        return out;
    }
}
