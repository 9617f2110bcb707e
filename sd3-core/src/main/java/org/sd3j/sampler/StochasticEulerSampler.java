package org.sd3j.sampler;

import org.sd3j.internal.Checks;
import org.sd3j.schedule.Sigmas;
import org.sd3j.tensor.Tensor;

/**
 * Stochastic Euler (diffusers' {@code FlowMatchEulerDiscreteScheduler(stochastic_sampling=True)}, SPEC §2.5):
 * estimate {@code x0 = x - sigma*v}, then re-noise it to the next level with fresh noise,
 * {@code x <- (1 - sigma_next) x0 + sigma_next * eps}. One model call per step; the last step returns x0.
 *
 * <p>x0 here is the model's posterior <em>mean</em> E[x0 | x_t], not a sample, so for a model that is not
 * distilled the sampler narrows the output distribution: for Gaussian data N(mu, 0.5^2) over SD3's 28-step
 * schedule the result keeps mean mu but has std 0.315 instead of 0.5 (see StochasticEulerSamplerTest).
 */
public final class StochasticEulerSampler implements Sampler {
    public static final String NAME = "euler_stochastic";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public SamplerRun start(Sigmas sigmas, NoiseSource noise) {
        Checks.notNull(sigmas, "sigmas");
        Checks.notNull(noise, "noise");
        return (index, x, model) -> {
            float sigma = sigmas.get(index);
            float next = sigmas.get(index + 1);
            Tensor v = model.velocity(x, sigma);
            if (next == 0f) {
                x.addScaled(v, -sigma);
                return;
            }
            // The velocity tensor is ours: reuse it for the fresh noise.
            Tensor x0 = x.addScaled(v, -sigma);
            noise.fillNormal(v);
            float keep = 1f - next;
            for (int i = 0; i < x.size(); i++) {
                x.set(i, keep * x0.get(i) + next * v.get(i));
            }
        };
    }

    @Override
    public String toString() {
        return NAME;
    }
}
