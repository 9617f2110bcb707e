package org.sd3j;

import java.time.Duration;
import java.util.function.Supplier;

import org.sd3j.tensor.Tensor;

/**
 * One completed sampling step.
 *
 * <p>{@link #latents()} copies the current latents on demand (so listeners that don't preview cost nothing);
 * call it only during {@link GenerationListener#onStep}.
 */
public final class StepEvent {
    private final int step;
    private final int totalSteps;
    private final int scheduleIndex;
    private final float sigma;
    private final float nextSigma;
    private final Duration elapsed;
    private final Duration stepDuration;
    private final Supplier<Tensor> latents;

    StepEvent(int step, int totalSteps, int scheduleIndex, float sigma, float nextSigma, Duration elapsed,
              Duration stepDuration, Supplier<Tensor> latents) {
        this.step = step;
        this.totalSteps = totalSteps;
        this.scheduleIndex = scheduleIndex;
        this.sigma = sigma;
        this.nextSigma = nextSigma;
        this.elapsed = elapsed;
        this.stepDuration = stepDuration;
        this.latents = latents;
    }

    /** 1-based count of steps completed in this run. */
    public int step() {
        return step;
    }

    /** Steps this run takes in all. */
    public int totalSteps() {
        return totalSteps;
    }

    /** Index of this step in the full schedule (differs from {@code step() - 1} for img2img). */
    public int scheduleIndex() {
        return scheduleIndex;
    }

    /** Noise level the step started from. */
    public float sigma() {
        return sigma;
    }

    /** Noise level the step reached. */
    public float nextSigma() {
        return nextSigma;
    }

    /** Time since the generation started. */
    public Duration elapsed() {
        return elapsed;
    }

    /** Time this step took. */
    public Duration stepDuration() {
        return stepDuration;
    }

    /** A copy of the latents after this step, {@code [B, C, h, w]} in the denoiser's space. */
    public Tensor latents() {
        return latents.get();
    }

    @Override
    public String toString() {
        return "StepEvent[" + step + "/" + totalSteps + ", sigma " + sigma + " -> " + nextSigma + "]";
    }
}
