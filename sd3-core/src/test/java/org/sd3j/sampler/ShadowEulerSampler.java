package org.sd3j.sampler;

import org.sd3j.schedule.Sigmas;

/**
 * A plug-in that claims the built-in name "euler". Not listed in the test class path's services file: only
 * {@link SamplersTest} offers it, through a class loader that adds a services file naming it.
 */
public final class ShadowEulerSampler implements Sampler {
    public ShadowEulerSampler() {
    }

    @Override
    public String name() {
        return "EULER";
    }

    @Override
    public SamplerRun start(Sigmas sigmas, NoiseSource noise) {
        return (index, x, model) -> {
            throw new UnsupportedOperationException("shadow");
        };
    }
}
