package org.sd3j.schedule;

import org.sd3j.internal.Checks;

/**
 * The rectified-flow time shift (SPEC §1, §2.6). A static shift {@code s} maps {@code t -> s*t / (1 + (s-1)*t)};
 * a dynamic shift {@code mu} maps {@code t -> e^mu / (e^mu + (1/t - 1))}. The two agree mathematically when
 * {@code mu = ln s} but round differently, so each form is kept exactly as diffusers computes it.
 *
 * <p>Immutable and thread-safe.
 */
public final class TimeShift {
    /** SD3's shift at 1024x1024. */
    public static final double SD3_DEFAULT = 3.0;

    /** No shift ({@code s = 1}). */
    public static final TimeShift NONE = new TimeShift(false, 1.0);

    private final boolean dynamic;
    private final double value;

    private TimeShift(boolean dynamic, double value) {
        this.dynamic = dynamic;
        this.value = value;
    }

    /** A static shift {@code s > 0}. */
    public static TimeShift of(double shift) {
        Checks.finitePositive(shift, "shift");
        return new TimeShift(false, shift);
    }

    /** A dynamic (Flux-style) shift with exponent {@code mu}. */
    public static TimeShift dynamic(double mu) {
        Checks.finite(mu, "mu");
        return new TimeShift(true, mu);
    }

    /**
     * The paper's resolution rule: going from {@code basePixels} (n) to {@code targetPixels} (m) pixels, the
     * timestep shift that keeps the signal-to-noise ratio per patch is {@code sqrt(m/n)}.
     */
    public static TimeShift forResolution(long basePixels, long targetPixels) {
        if (basePixels <= 0) {
            throw Checks.fail("basePixels", "> 0", basePixels);
        }
        if (targetPixels <= 0) {
            throw Checks.fail("targetPixels", "> 0", targetPixels);
        }
        return of(Math.sqrt((double) targetPixels / basePixels));
    }

    /**
     * Carries a shift tuned at one resolution to another by the same sqrt(m/n) rule, e.g. SD3's 3.0 at
     * 1024x1024 becomes 1.5 at 512x512.
     */
    public static TimeShift rescale(double shift, int fromWidth, int fromHeight, int toWidth, int toHeight) {
        Checks.finitePositive(shift, "shift");
        // Each side on its own: two negative sides would otherwise make a positive pixel count.
        Checks.atLeast(fromWidth, 1, "fromWidth");
        Checks.atLeast(fromHeight, 1, "fromHeight");
        Checks.atLeast(toWidth, 1, "toWidth");
        Checks.atLeast(toHeight, 1, "toHeight");
        TimeShift ratio = forResolution((long) fromWidth * fromHeight, (long) toWidth * toHeight);
        return of(shift * ratio.value);
    }

    /**
     * diffusers' {@code calculate_shift}: {@code mu} interpolated linearly in the image token count between
     * ({@code baseSeqLen}, {@code baseShift}) and ({@code maxSeqLen}, {@code maxShift}).
     */
    public static TimeShift dynamicForTokens(int imageTokens, int baseSeqLen, int maxSeqLen,
                                             double baseShift, double maxShift) {
        Checks.atLeast(imageTokens, 1, "imageTokens");
        if (maxSeqLen <= baseSeqLen) {
            throw Checks.fail("maxSeqLen", "> baseSeqLen (" + baseSeqLen + ")", maxSeqLen);
        }
        double m = (maxShift - baseShift) / (maxSeqLen - baseSeqLen);
        double b = baseShift - m * baseSeqLen;
        return dynamic(imageTokens * m + b);
    }

    /** Whether this is a dynamic ({@code mu}) shift. */
    public boolean isDynamic() {
        return dynamic;
    }

    /** The static shift factor, or {@code e^mu} for a dynamic shift. */
    public double factor() {
        return dynamic ? Math.exp(value) : value;
    }

    /** {@code mu} for a dynamic shift, {@code ln s} for a static one. */
    public double mu() {
        return dynamic ? value : Math.log(value);
    }

    /** Shifts {@code t} in [0, 1], in double precision. */
    public double apply(double t) {
        if (dynamic) {
            double e = Math.exp(value);
            return e / (e + (1.0 / t - 1.0));
        }
        return value * t / (1.0 + (value - 1.0) * t);
    }

    /** Shifts {@code t} in float32 arithmetic, the way torch computes the training grid. */
    public float applyFloat(float t) {
        if (dynamic) {
            float e = (float) Math.exp(value);
            return e / (e + (1.0f / t - 1.0f));
        }
        float s = (float) value;
        return s * t / (1.0f + (s - 1.0f) * t);
    }

    /** Inverse of {@link #apply(double)}. */
    public double invert(double u) {
        if (dynamic) {
            double e = Math.exp(value);
            return u / (u + e * (1.0 - u));
        }
        return u / (value - (value - 1.0) * u);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TimeShift && ((TimeShift) o).dynamic == dynamic
                && Double.compare(((TimeShift) o).value, value) == 0;
    }

    @Override
    public int hashCode() {
        return Boolean.hashCode(dynamic) * 31 + Double.hashCode(value);
    }

    @Override
    public String toString() {
        return dynamic ? "mu=" + value : Double.toString(value);
    }
}
