package org.sd3j.schedule;

import java.util.Arrays;

import org.sd3j.internal.Checks;

/**
 * A sampling schedule: {@code steps + 1} float32 noise levels, strictly decreasing from the start level to a
 * final 0. Step {@code i} moves the latents from {@code get(i)} to {@code get(i + 1)}. The transformer sees
 * {@link #timestep(int)} = {@code sigma * 1000} in float32, as the reference feeds it.
 *
 * <p>Immutable and thread-safe.
 */
public final class Sigmas {
    private final float[] values;

    private Sigmas(float[] values) {
        this.values = values;
    }

    /**
     * Sigmas from explicit values: finite, within [0, 1], strictly decreasing, ending with 0 (a final 0 is
     * appended when missing).
     */
    public static Sigmas of(float... values) {
        Checks.notNull(values, "sigmas");
        if (values.length == 0 || (values.length == 1 && values[0] == 0f)) {
            throw new IllegalArgumentException("sigmas must hold at least one level > 0, found "
                    + Arrays.toString(values));
        }
        float[] v = values[values.length - 1] == 0f ? values.clone() : Arrays.copyOf(values, values.length + 1);
        v[v.length - 1] = 0f; // a given -0.0 becomes +0.0, so equal schedules compare equal
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i]) || v[i] < 0f || v[i] > 1f) {
                throw new IllegalArgumentException("sigmas[" + i + "] must be finite and within [0, 1], found " + v[i]);
            }
            if (i > 0 && !(v[i] < v[i - 1])) {
                throw new IllegalArgumentException("sigmas must be strictly decreasing, found " + v[i - 1]
                        + " then " + v[i] + " at index " + i);
            }
        }
        return new Sigmas(v);
    }

    /** Number of sampling steps ({@code size - 1}). */
    public int steps() {
        return values.length - 1;
    }

    /** Number of levels ({@code steps + 1}). */
    public int size() {
        return values.length;
    }

    /** The noise level at index {@code i} in [0, steps]. */
    public float get(int i) {
        return values[i];
    }

    /** {@code get(i) * 1000} in float32: what the MMDiT receives as its timestep. */
    public float timestep(int i) {
        return values[i] * 1000f;
    }

    /** A copy of the levels. */
    public float[] toArray() {
        return values.clone();
    }

    /**
     * img2img's first step for a given strength (SPEC §2.9, as diffusers computes it):
     * {@code t_start = int(N - min(N*strength, N))}. N=28, strength 0.6 gives 11.
     */
    public int startIndexForStrength(double strength) {
        if (!(strength > 0 && strength <= 1)) {
            throw Checks.fail("strength", "in (0, 1]", strength);
        }
        int n = steps();
        return (int) Math.max(n - Math.min(n * strength, n), 0);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Sigmas && Arrays.equals(values, ((Sigmas) o).values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return "Sigmas" + Arrays.toString(values);
    }
}
