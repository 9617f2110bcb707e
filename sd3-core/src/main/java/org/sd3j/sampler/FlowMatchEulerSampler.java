package org.sd3j.sampler;

import org.sd3j.internal.Checks;
import org.sd3j.schedule.Sigmas;
import org.sd3j.tensor.Tensor;

/**
 * Euler's method on the flow ODE, the SD3 default (SPEC §2.4): {@code x <- x + (sigma_next - sigma) * v}, in
 * float32 exactly as diffusers' {@code FlowMatchEulerDiscreteScheduler.step}. One model call per step.
 */
public final class FlowMatchEulerSampler implements Sampler {
    public static final String NAME = "euler";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public SamplerRun start(Sigmas sigmas, NoiseSource noise) {
        Checks.notNull(sigmas, "sigmas");
        return (index, x, model) -> {
            float sigma = sigmas.get(index);
            float dt = sigmas.get(index + 1) - sigma;
            x.addScaled(model.velocity(x, sigma), dt);
        };
    }

    @Override
    public String toString() {
        return NAME;
    }
}
