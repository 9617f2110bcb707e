package org.sd3j.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CustomScheduleTest {

    @Test
    void usesTheValuesAsGivenWithAFinalZero() {
        Schedule custom = Schedule.custom(1f, 0.6f, 0.2f);
        assertThat(custom.sigmas(3, TimeShift.NONE).toArray()).containsExactly(1f, 0.6f, 0.2f, 0f);
    }

    @Test
    void ignoresTheShift() {
        Schedule custom = Schedule.custom(1f, 0.6f, 0.2f, 0f);
        assertThat(custom.sigmas(3, TimeShift.of(3.0))).isEqualTo(custom.sigmas(3, TimeShift.NONE));
        assertThat(custom.sigmas(3, TimeShift.dynamic(1.0)).get(1)).isEqualTo(0.6f);
    }

    @Test
    void fixedStepsIsTheListLength() {
        assertThat(Schedule.custom(1f, 0.6f, 0.2f).fixedSteps()).hasValue(3);
        assertThat(Schedule.custom(1f, 0.6f, 0.2f, 0f).fixedSteps()).hasValue(3);
    }

    @Test
    void rejectsAnotherStepCount() {
        Schedule custom = Schedule.custom(1f, 0.6f, 0.2f);
        assertThatThrownBy(() -> custom.sigmas(28, TimeShift.NONE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("steps must be 3 to match the custom sigma list of 4 levels, found 28");
    }

    @Test
    void validatesEagerlyIncrease() {
        assertThatThrownBy(() -> Schedule.custom(0.5f, 0.8f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("sigmas must be strictly decreasing, found 0.5 then 0.8 at index 1");
    }

    @Test
    void validatesEagerlyRange() {
        assertThatThrownBy(() -> Schedule.custom(2f, 0.8f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("sigmas[0] must be finite and within [0, 1], found 2.0");
    }

    @Test
    void copiesTheArray() {
        float[] values = {1f, 0.6f, 0.2f};
        Schedule custom = Schedule.custom(values);
        values[1] = 0.3f;
        assertThat(custom.sigmas(3, TimeShift.NONE).get(1)).isEqualTo(0.6f);
    }

    @Test
    void nameAndToString() {
        Schedule custom = Schedule.custom(1f, 0.5f);
        assertThat(custom.name()).isEqualTo("custom");
        assertThat(custom).hasToString("customSigmas[1.0, 0.5, 0.0]");
    }
}
