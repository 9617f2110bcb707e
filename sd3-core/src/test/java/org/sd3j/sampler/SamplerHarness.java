package org.sd3j.sampler;

import java.util.ArrayList;
import java.util.List;

import org.sd3j.schedule.Sigmas;
import org.sd3j.tensor.Tensor;

/** Test helper: runs a sampler over a schedule and records what the sampler asked of the model. */
final class SamplerHarness {
    private SamplerHarness() {
    }

    /** A noise source that must never be used (deterministic samplers). */
    static final NoiseSource NO_NOISE = target -> {
        throw new AssertionError("a deterministic sampler asked for noise");
    };

    /** Runs steps {@code [startIndex, steps)} on {@code x} in place; returns {@code x}. */
    static Tensor run(Sampler sampler, Sigmas sigmas, Tensor x, VelocityModel model, NoiseSource noise,
                      int startIndex) {
        SamplerRun run = sampler.start(sigmas, noise);
        for (int i = startIndex; i < sigmas.steps(); i++) {
            run.step(i, x, model);
        }
        return x;
    }

    static Tensor run(Sampler sampler, Sigmas sigmas, Tensor x, VelocityModel model, NoiseSource noise) {
        return run(sampler, sigmas, x, model, noise, 0);
    }

    /** A velocity field given per element as a function of (x, sigma), evaluated in double, stored as float. */
    @FunctionalInterface
    interface ScalarField {
        double v(double x, double sigma);
    }

    /** The element-wise model of {@code field}: returns a fresh tensor every call, as the contract requires. */
    static VelocityModel elementwise(ScalarField field) {
        return (x, sigma) -> {
            Tensor v = Tensor.zeros(x.shape());
            for (int i = 0; i < x.size(); i++) {
                v.set(i, (float) field.v(x.get(i), sigma));
            }
            return v;
        };
    }

    /** Wraps a model and records every sigma it was called with, and how often. */
    static final class Recording implements VelocityModel {
        private final VelocityModel inner;
        final List<Float> sigmas = new ArrayList<>();

        Recording(VelocityModel inner) {
            this.inner = inner;
        }

        @Override
        public Tensor velocity(Tensor x, float sigma) {
            sigmas.add(sigma);
            return inner.velocity(x, sigma);
        }

        int calls() {
            return sigmas.size();
        }
    }

    /** Every built-in sampler, fresh. */
    static List<Sampler> builtIns() {
        return List.of(new FlowMatchEulerSampler(), new FlowMatchHeunSampler(), new DpmPlusPlus2MSampler(),
                new StochasticEulerSampler());
    }

    /** The deterministic built-in samplers, fresh. */
    static List<Sampler> deterministic() {
        return List.of(new FlowMatchEulerSampler(), new FlowMatchHeunSampler(), new DpmPlusPlus2MSampler());
    }
}
