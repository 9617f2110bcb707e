package org.sd3j.schedule;

import java.util.OptionalInt;

import org.sd3j.internal.Checks;

/** A user-given sigma list, used as is: the shift does not apply to it. */
final class CustomSchedule implements Schedule {
    private final Sigmas sigmas;

    CustomSchedule(Sigmas sigmas) {
        this.sigmas = sigmas;
    }

    @Override
    public Sigmas sigmas(int steps, TimeShift shift) {
        if (steps != sigmas.steps()) {
            throw Checks.fail("steps", sigmas.steps() + " to match the custom sigma list of " + sigmas.size()
                    + " levels", steps);
        }
        return sigmas;
    }

    @Override
    public OptionalInt fixedSteps() {
        return OptionalInt.of(sigmas.steps());
    }

    @Override
    public String name() {
        return "custom";
    }

    @Override
    public String toString() {
        return "custom" + sigmas;
    }
}
