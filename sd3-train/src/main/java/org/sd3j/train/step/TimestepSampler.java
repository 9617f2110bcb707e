package org.sd3j.train.step;

import java.util.SplittableRandom;

import org.sd3j.internal.Checks;
import org.sd3j.schedule.TimeShift;

/**
 * Draws training timesteps t in (0, 1) (t = 1 is noise) from the densities of SPEC §7 / the SD3 paper's Table 1,
 * then applies the resolution shift: logit-normal(m, s) (the paper's best, (0, 1)), mode(s), cosmap and uniform.
 * Immutable and thread-safe; the randomness comes from the caller's generator, so runs are reproducible.
 */
public final class TimestepSampler {
    /** The density t is drawn from. */
    public enum Density {
        /** {@code t = sigmoid(N(m, s))}. */
        LOGIT_NORMAL,
        /** {@code t = 1 - u - s (cos^2(pi u / 2) - 1 + u)}, u ~ U(0, 1); monotone for s <= 2 / (pi - 2). */
        MODE,
        /** {@code t = 1 - 1 / (tan(pi u / 2) + 1)}. */
        COSMAP,
        UNIFORM
    }

    private final Density density;
    private final double location;
    private final double scale;
    private final TimeShift shift;

    private TimestepSampler(Density density, double location, double scale, TimeShift shift) {
        this.density = density;
        this.location = location;
        this.scale = scale;
        this.shift = shift;
    }

    /** logit-normal(m, s), then {@code shift}. */
    public static TimestepSampler logitNormal(double m, double s, TimeShift shift) {
        Checks.finite(m, "m");
        Checks.finitePositive(s, "s");
        return new TimestepSampler(Density.LOGIT_NORMAL, m, s, Checks.notNull(shift, "shift"));
    }

    /** mode(s) with {@code |s| <= 2 / (pi - 2)} (beyond it t is not monotone in u), then {@code shift}. */
    public static TimestepSampler mode(double s, TimeShift shift) {
        if (!Double.isFinite(s) || Math.abs(s) > 2 / (Math.PI - 2)) {
            throw Checks.fail("s", "finite with |s| <= 2/(pi-2) = 1.751938", s);
        }
        return new TimestepSampler(Density.MODE, 0, s, Checks.notNull(shift, "shift"));
    }

    public static TimestepSampler cosmap(TimeShift shift) {
        return new TimestepSampler(Density.COSMAP, 0, 0, Checks.notNull(shift, "shift"));
    }

    public static TimestepSampler uniform(TimeShift shift) {
        return new TimestepSampler(Density.UNIFORM, 0, 0, Checks.notNull(shift, "shift"));
    }

    /** The paper's default: logit-normal(0, 1), SD3's shift 3. */
    public static TimestepSampler sd3Default() {
        return logitNormal(0, 1, TimeShift.of(TimeShift.SD3_DEFAULT));
    }

    public Density density() {
        return density;
    }

    public TimeShift shift() {
        return shift;
    }

    /** One shifted timestep in (0, 1). */
    public double sample(SplittableRandom random) {
        return shift.apply(unshifted(random));
    }

    /** {@code n} shifted timesteps. */
    public double[] sample(SplittableRandom random, int n) {
        double[] t = new double[Checks.atLeast(n, 1, "n")];
        for (int i = 0; i < n; i++) {
            t[i] = sample(random);
        }
        return t;
    }

    double unshifted(SplittableRandom random) {
        switch (density) {
            case LOGIT_NORMAL:
                return 1 / (1 + Math.exp(-(location + scale * random.nextGaussian())));
            case MODE:
                return mode(random.nextDouble(), scale);
            case COSMAP:
                return cosmap(random.nextDouble());
            default:
                return random.nextDouble();
        }
    }

    /** The mode(s) map of a uniform u. */
    static double mode(double u, double s) {
        double c = Math.cos(Math.PI * u / 2);
        return 1 - u - s * (c * c - 1 + u);
    }

    /** The cosmap of a uniform u. */
    static double cosmap(double u) {
        return 1 - 1 / (Math.tan(Math.PI * u / 2) + 1);
    }

    /** The logit-normal(m, s) density at t. */
    static double logitNormalDensity(double t, double m, double s) {
        double logit = Math.log(t / (1 - t));
        return Math.exp(-(logit - m) * (logit - m) / (2 * s * s)) / (s * Math.sqrt(2 * Math.PI) * t * (1 - t));
    }

    @Override
    public String toString() {
        return density + (density == Density.LOGIT_NORMAL ? "(" + location + ", " + scale + ")"
                : density == Density.MODE ? "(" + scale + ")" : "") + ", shift " + shift;
    }
}
