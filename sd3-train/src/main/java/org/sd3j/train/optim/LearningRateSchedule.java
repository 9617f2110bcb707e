package org.sd3j.train.optim;

/**
 * A learning rate as a pure function of the optimizer step: a linear warm-up from 0, then either constant or a
 * half-cosine decay to a floor, which may start only after a constant stretch ("warm-up, stable, decay"). Immutable
 * and thread-safe.
 *
 * <p>{@code step} counts the optimizer updates already taken, so the first update uses {@code at(0)}. The curves
 * are those of Hugging Face's {@code get_constant_schedule_with_warmup} and
 * {@code get_cosine_with_min_lr_schedule_with_warmup} (one half cycle) as diffusers' training scripts drive them
 * (scheduler stepped after the optimizer):
 * <pre>
 *   step &lt; W:     peak * step / W                     (so the first update has learning rate 0 when W &gt; 0)
 *   constant:     peak
 *   cosine:       floor + (peak - floor) * (1 + cos(pi * p)) / 2,   p = min(1, (step - D) / (T - D))
 * </pre>
 * with W the warm-up steps, T the total steps and D the step the decay starts at (W for {@link #warmupCosine}, so
 * p = 0 right after the warm-up; later for {@link #warmupStableDecay}, the peak holding until D); after T the cosine
 * schedule stays at the floor (Hugging Face's would climb again).
 */
public final class LearningRateSchedule {
    private final double peak;
    private final long warmupSteps;
    private final long decayStart;
    private final long totalSteps;
    private final double floor;
    private final boolean cosine;

    private LearningRateSchedule(double peak, long warmupSteps, long decayStart, long totalSteps, double floor,
                                 boolean cosine) {
        this.peak = peak;
        this.warmupSteps = warmupSteps;
        this.decayStart = decayStart;
        this.totalSteps = totalSteps;
        this.floor = floor;
        this.cosine = cosine;
    }

    /** {@code peak} at every step. */
    public static LearningRateSchedule constant(double peak) {
        return warmupConstant(peak, 0);
    }

    /**
     * Linear warm-up over {@code warmupSteps} from 0 to {@code peak}, then {@code peak}.
     *
     * @throws IllegalArgumentException if {@code peak} is not finite and {@code >= 0} or {@code warmupSteps < 0}
     */
    public static LearningRateSchedule warmupConstant(double peak, long warmupSteps) {
        checkPeakAndWarmup(peak, warmupSteps);
        return new LearningRateSchedule(peak, warmupSteps, Long.MAX_VALUE, Long.MAX_VALUE, peak, false);
    }

    /**
     * Linear warm-up over {@code warmupSteps}, then a half cosine from {@code peak} at step {@code warmupSteps}
     * down to {@code floor} at step {@code totalSteps}, then {@code floor}.
     *
     * @throws IllegalArgumentException if {@code peak} is not finite and {@code >= 0}, {@code warmupSteps < 0},
     *                                  {@code totalSteps <= warmupSteps}, or {@code floor} is outside
     *                                  {@code [0, peak]}
     */
    public static LearningRateSchedule warmupCosine(double peak, long warmupSteps, long totalSteps, double floor) {
        return warmupStableDecay(peak, warmupSteps, warmupSteps, totalSteps, floor);
    }

    /**
     * Linear warm-up over {@code warmupSteps}, {@code peak} until step {@code decayStart}, then a half cosine down to
     * {@code floor} at step {@code totalSteps}, then {@code floor}: a long constant stretch that a run can be
     * continued from, and a short decay that settles the weights (most of a decayed run's gain comes in it).
     *
     * @throws IllegalArgumentException if {@code peak} is not finite and {@code >= 0}, {@code warmupSteps < 0},
     *                                  {@code decayStart < warmupSteps}, {@code totalSteps <= decayStart}, or
     *                                  {@code floor} is outside {@code [0, peak]}
     */
    public static LearningRateSchedule warmupStableDecay(double peak, long warmupSteps, long decayStart,
                                                         long totalSteps, double floor) {
        checkPeakAndWarmup(peak, warmupSteps);
        if (decayStart < warmupSteps) {
            throw new IllegalArgumentException("decayStart must be >= warmupSteps (" + warmupSteps + "), found "
                    + decayStart);
        }
        if (totalSteps <= decayStart) {
            throw new IllegalArgumentException((decayStart == warmupSteps ? "totalSteps must be > warmupSteps ("
                    + warmupSteps : "totalSteps must be > decayStart (" + decayStart) + "), found " + totalSteps);
        }
        if (!(floor >= 0 && floor <= peak)) {
            throw new IllegalArgumentException("floor must be in [0, peak] = [0, " + peak + "], found " + floor);
        }
        return new LearningRateSchedule(peak, warmupSteps, decayStart, totalSteps, floor, true);
    }

    private static void checkPeakAndWarmup(double peak, long warmupSteps) {
        AdamWSettings.requireLearningRate(peak, "peak");
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warmupSteps must be >= 0, found " + warmupSteps);
        }
    }

    /**
     * The learning rate for the update that follows {@code step} completed updates.
     *
     * @throws IllegalArgumentException if {@code step < 0}
     */
    public double at(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, found " + step);
        }
        if (step < warmupSteps) {
            return peak * ((double) step / warmupSteps);
        }
        if (!cosine) {
            return peak;
        }
        if (step < decayStart) {
            return peak;
        }
        double progress = Math.min(1.0, (double) (step - decayStart) / (totalSteps - decayStart));
        return floor + (peak - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }

    public double peak() {
        return peak;
    }

    public long warmupSteps() {
        return warmupSteps;
    }

    /** Whether the rate decays along a cosine after the warm-up (else it stays at the peak). */
    public boolean isCosine() {
        return cosine;
    }

    /** The step the cosine starts at (the end of the warm-up unless it holds the peak longer). */
    public long decayStart() {
        return decayStart;
    }

    /** The step at which the cosine reaches the floor; {@code Long.MAX_VALUE} for a constant schedule. */
    public long totalSteps() {
        return totalSteps;
    }

    /** The rate the cosine decays to (the peak for a constant schedule). */
    public double floor() {
        return floor;
    }

    @Override
    public String toString() {
        return cosine
                ? "warmup " + warmupSteps + (decayStart > warmupSteps ? " then constant " + peak + " until step "
                        + decayStart : "") + " then cosine " + peak + " -> " + floor + " at step " + totalSteps
                : "warmup " + warmupSteps + " then constant " + peak;
    }
}
