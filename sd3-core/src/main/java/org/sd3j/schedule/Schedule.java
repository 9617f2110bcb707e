package org.sd3j.schedule;

import java.util.OptionalInt;

/**
 * Turns a step count and a time shift into the {@link Sigmas} a sampler walks. Implementations are immutable
 * and thread-safe.
 */
public interface Schedule {

    /**
     * The schedule for {@code steps} sampling steps: {@code steps + 1} levels ending with 0.
     *
     * @throws IllegalArgumentException when {@code steps < 1}, or a fixed-length schedule gets another count
     */
    Sigmas sigmas(int steps, TimeShift shift);

    /** A fixed step count when the schedule has one (a custom sigma list), otherwise empty. */
    default OptionalInt fixedSteps() {
        return OptionalInt.empty();
    }

    /** A short name for logs and image metadata. */
    String name();

    /** The SD3 default: diffusers' {@code FlowMatchEulerDiscreteScheduler} / the reference's {@code get_sigmas}. */
    static Schedule flowMatch() {
        return FlowMatchSchedule.INSTANCE;
    }

    /**
     * Explicit sigma values used as given (no shift is applied); a final 0 is appended when missing.
     */
    static Schedule custom(float... sigmas) {
        return new CustomSchedule(Sigmas.of(sigmas));
    }
}
