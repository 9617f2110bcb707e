package org.sd3j.sampler;

import org.sd3j.schedule.Sigmas;

/**
 * An ODE/SDE solver for the rectified-flow model. Immutable and thread-safe; every generation gets its own
 * stateful {@link SamplerRun}.
 *
 * <p>Plug-ins: implement this interface with a public no-argument constructor and list the class in
 * {@code META-INF/services/org.sd3j.sampler.Sampler}; {@link Samplers#forName(String)} then finds it by
 * {@link #name()}.
 */
public interface Sampler {

    /** Lookup name: lower-case, e.g. {@code euler}, {@code dpmpp_2m}. */
    String name();

    /**
     * Starts a run over {@code sigmas}.
     *
     * @param noise fresh noise for stochastic samplers (deterministic ones ignore it)
     */
    SamplerRun start(Sigmas sigmas, NoiseSource noise);
}
