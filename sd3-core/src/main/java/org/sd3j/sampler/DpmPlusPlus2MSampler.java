package org.sd3j.sampler;

import org.sd3j.internal.Checks;
import org.sd3j.schedule.Sigmas;
import org.sd3j.tensor.Tensor;

/**
 * DPM-Solver++(2M), the SAI reference's default sampler for SD3.5, as k-diffusion's {@code sample_dpmpp_2m}
 * over the flow model seen as a denoiser {@code x0 = x - sigma*v} (SPEC §2.5). With {@code lambda = -ln sigma},
 * {@code h = lambda_next - lambda}:
 * <pre>
 *   first step or sigma_next == 0:  x = (sigma_next/sigma) x - expm1(-h) x0
 *   otherwise (r = h_last/h):       x = (sigma_next/sigma) x - expm1(-h) ((1 + 1/(2r)) x0 - (1/(2r)) x0_prev)
 * </pre>
 * One model call per step.
 */
public final class DpmPlusPlus2MSampler implements Sampler {
    public static final String NAME = "dpmpp_2m";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public SamplerRun start(Sigmas sigmas, NoiseSource noise) {
        Checks.notNull(sigmas, "sigmas");
        return new Run(sigmas);
    }

    @Override
    public String toString() {
        return NAME;
    }

    private static final class Run implements SamplerRun {
        private final Sigmas sigmas;
        private Tensor denoised;
        private Tensor previousDenoised;
        private int previousIndex = -1;

        Run(Sigmas sigmas) {
            this.sigmas = sigmas;
        }

        @Override
        public void step(int index, Tensor x, VelocityModel model) {
            float sigma = sigmas.get(index);
            float next = sigmas.get(index + 1);
            Tensor v = model.velocity(x, sigma);
            if (denoised == null || denoised.size() != x.size()) {
                denoised = Tensor.zeros(x.shape());
            }
            // x0 = x - sigma * v, kept in the run's own buffer: v is only valid until the model's next call.
            for (int i = 0; i < x.size(); i++) {
                denoised.set(i, x.get(i) - sigma * v.get(i));
            }
            if (next == 0f) {
                x.copyFrom(denoised);
            } else {
                double t = -Math.log(sigma);
                double h = -Math.log(next) - t;
                float ratio = (float) ((double) next / sigma);
                float coeff = (float) -Math.expm1(-h);
                boolean secondOrder = previousDenoised != null && previousIndex == index - 1;
                if (!secondOrder) {
                    for (int i = 0; i < x.size(); i++) {
                        x.set(i, ratio * x.get(i) + coeff * denoised.get(i));
                    }
                } else {
                    double hLast = t + Math.log(sigmas.get(index - 1));
                    double r = hLast / h;
                    float a = (float) (1 + 1 / (2 * r));
                    float b = (float) (1 / (2 * r));
                    for (int i = 0; i < x.size(); i++) {
                        float d = a * denoised.get(i) - b * previousDenoised.get(i);
                        x.set(i, ratio * x.get(i) + coeff * d);
                    }
                }
            }
            Tensor recycled = previousDenoised;
            previousDenoised = denoised;
            denoised = recycled;
            previousIndex = index;
        }
    }
}
