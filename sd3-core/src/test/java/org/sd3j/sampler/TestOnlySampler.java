package org.sd3j.sampler;

import org.sd3j.schedule.Sigmas;

/**
 * A sampler that only the test class path lists in {@code META-INF/services/org.sd3j.sampler.Sampler}: it stands
 * for a sampler shipped in another jar. Public with a public no-argument constructor, as ServiceLoader needs.
 */
public final class TestOnlySampler implements Sampler {
    public static final String NAME = "test_only";

    public TestOnlySampler() {
    }

    @Override
    public String name() {
        return "Test_Only"; // mixed case on purpose: the lookup must lower-case provider names too
    }

    @Override
    public SamplerRun start(Sigmas sigmas, NoiseSource noise) {
        return (index, x, model) -> x.addScaled(model.velocity(x, sigmas.get(index)),
                sigmas.get(index + 1) - sigmas.get(index));
    }
}
