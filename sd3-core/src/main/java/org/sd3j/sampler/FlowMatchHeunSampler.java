package org.sd3j.sampler;

import org.sd3j.internal.Checks;
import org.sd3j.schedule.Sigmas;
import org.sd3j.tensor.Tensor;

/**
 * Heun's second-order method (k-diffusion's {@code sample_heun} without churn, diffusers'
 * {@code FlowMatchHeunDiscreteScheduler}): an Euler predictor, then the trapezoid of the two velocities. The
 * last step, to sigma 0, is a plain Euler step. Two model calls per step (one on the last).
 *
 * <p>With the flow model as a k-diffusion denoiser ({@code x0 = x - sigma*v}), the derivative
 * {@code d = (x - x0)/sigma} is exactly {@code v}, so the velocity is used directly.
 */
public final class FlowMatchHeunSampler implements Sampler {
    public static final String NAME = "heun";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public SamplerRun start(Sigmas sigmas, NoiseSource noise) {
        Checks.notNull(sigmas, "sigmas");
        return new Run(sigmas);
    }

    /** Keeps its predictor buffers for the whole run: the model's velocity is only valid until its next call. */
    private static final class Run implements SamplerRun {
        private final Sigmas sigmas;
        private Tensor first;
        private Tensor predicted;

        Run(Sigmas sigmas) {
            this.sigmas = sigmas;
        }

        @Override
        public void step(int index, Tensor x, VelocityModel model) {
            float sigma = sigmas.get(index);
            float next = sigmas.get(index + 1);
            float dt = next - sigma;
            Tensor v1 = model.velocity(x, sigma);
            if (next == 0f) {
                x.addScaled(v1, dt);
                return;
            }
            if (first == null || first.size() != x.size()) {
                first = Tensor.zeros(x.shape());
                predicted = Tensor.zeros(x.shape());
            }
            first.copyFrom(v1);
            predicted.copyFrom(x).addScaled(first, dt);
            Tensor v2 = model.velocity(predicted, next);
            float half = dt * 0.5f;
            for (int i = 0; i < x.size(); i++) {
                x.set(i, x.get(i) + (first.get(i) + v2.get(i)) * half);
            }
        }
    }

    @Override
    public String toString() {
        return NAME;
    }
}
