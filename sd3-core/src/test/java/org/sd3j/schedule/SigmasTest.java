package org.sd3j.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SigmasTest {

    @Nested
    class Of {
        @Test
        void appendsAFinalZero() {
            assertThat(Sigmas.of(0.9f, 0.5f, 0.1f).toArray()).containsExactly(0.9f, 0.5f, 0.1f, 0f);
        }

        @Test
        void keepsAGivenFinalZero() {
            assertThat(Sigmas.of(0.9f, 0.5f, 0f).toArray()).containsExactly(0.9f, 0.5f, 0f);
        }

        @Test
        void singleLevelMakesOneStep() {
            Sigmas s = Sigmas.of(1f);
            assertThat(s.steps()).isEqualTo(1);
            assertThat(s.toArray()).containsExactly(1f, 0f);
        }

        @Test
        void negativeZeroEndIsStoredAsZero() {
            Sigmas s = Sigmas.of(0.5f, -0f);
            assertThat(Float.floatToIntBits(s.get(1))).isEqualTo(Float.floatToIntBits(0f));
            assertThat(s).isEqualTo(Sigmas.of(0.5f));
        }

        @Test
        void copiesTheInput() {
            float[] values = {0.9f, 0.5f, 0f};
            Sigmas s = Sigmas.of(values);
            values[1] = 0.7f;
            assertThat(s.get(1)).isEqualTo(0.5f);
        }

        @Test
        void toArrayIsACopy() {
            Sigmas s = Sigmas.of(0.9f, 0.5f);
            s.toArray()[0] = 0.1f;
            assertThat(s.get(0)).isEqualTo(0.9f);
        }

        @Test
        void rejectsNull() {
            assertThatThrownBy(() -> Sigmas.of((float[]) null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sigmas must be non-null, found null");
        }

        @Test
        void rejectsEmpty() {
            assertThatThrownBy(() -> Sigmas.of()).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sigmas must hold at least one level > 0, found []");
        }

        @Test
        void rejectsOnlyZero() {
            assertThatThrownBy(() -> Sigmas.of(0f)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sigmas must hold at least one level > 0, found [0.0]");
        }

        @Test
        void rejectsAboveOne() {
            assertThatThrownBy(() -> Sigmas.of(1.5f, 0.5f)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sigmas[0] must be finite and within [0, 1], found 1.5");
        }

        @Test
        void rejectsNegative() {
            assertThatThrownBy(() -> Sigmas.of(0.5f, -0.25f)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sigmas[1] must be finite and within [0, 1], found -0.25");
        }

        @Test
        void rejectsNaN() {
            assertThatThrownBy(() -> Sigmas.of(0.9f, Float.NaN, 0.1f)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sigmas[1] must be finite and within [0, 1], found NaN");
        }

        @Test
        void rejectsInfinity() {
            assertThatThrownBy(() -> Sigmas.of(Float.POSITIVE_INFINITY)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sigmas[0] must be finite and within [0, 1], found Infinity");
        }

        @Test
        void rejectsIncrease() {
            assertThatThrownBy(() -> Sigmas.of(0.5f, 0.75f)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sigmas must be strictly decreasing, found 0.5 then 0.75 at index 1");
        }

        @Test
        void rejectsRepeat() {
            assertThatThrownBy(() -> Sigmas.of(0.75f, 0.5f, 0.5f)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sigmas must be strictly decreasing, found 0.5 then 0.5 at index 2");
        }

        @Test
        void rejectsAnInteriorZero() {
            assertThatThrownBy(() -> Sigmas.of(0.75f, 0f, 0f)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sigmas must be strictly decreasing, found 0.0 then 0.0 at index 2");
        }
    }

    @Nested
    class Accessors {
        private final Sigmas s = Sigmas.of(1f, 0.75f, 0.25f);

        @Test
        void stepsIsSizeMinusOne() {
            assertThat(s.steps()).isEqualTo(3);
            assertThat(s.size()).isEqualTo(4);
        }

        @Test
        void getReadsLevels() {
            assertThat(s.get(0)).isEqualTo(1f);
            assertThat(s.get(2)).isEqualTo(0.25f);
            assertThat(s.get(3)).isEqualTo(0f);
        }

        @Test
        void timestepIsFloat32SigmaTimesThousand() {
            assertThat(s.timestep(1)).isEqualTo(750f);
            float odd = 0.8576924f;
            assertThat(Sigmas.of(odd).timestep(0)).isEqualTo(odd * 1000f);
        }

        @Test
        void valueSemantics() {
            assertThat(s).isEqualTo(Sigmas.of(1f, 0.75f, 0.25f, 0f)).hasSameHashCodeAs(Sigmas.of(1f, 0.75f, 0.25f));
            assertThat(s).isNotEqualTo(Sigmas.of(1f, 0.75f));
            assertThat(s).hasToString("Sigmas[1.0, 0.75, 0.25, 0.0]");
        }
    }

    @Nested
    class StartIndexForStrength {
        private final Sigmas sd3 = Schedule.flowMatch().sigmas(28, TimeShift.of(3.0));

        @Test
        void specImg2ImgExample() {
            // SPEC §2.9: N=28, strength 0.6 -> t_start 11, start sigma 0.814325, 17 steps.
            int start = sd3.startIndexForStrength(0.6);
            assertThat(start).isEqualTo(11);
            assertThat(sd3.get(start)).isCloseTo(0.814325f, within(1e-6f));
            assertThat(sd3.steps() - start).isEqualTo(17);
        }

        @Test
        void fullStrengthStartsAtZero() {
            assertThat(sd3.startIndexForStrength(1.0)).isZero();
        }

        @ParameterizedTest(name = "N={0}, strength {1} -> {2}")
        @CsvSource({
            "28, 0.6, 11", "28, 0.5, 14", "28, 0.01, 27", "28, 0.99, 0",
            "10, 0.3, 7", "10, 0.7, 3", "4, 0.25, 3", "1, 0.5, 0",
            // diffusers' double arithmetic: 25*0.56 = 14.000000000000002 -> int(10.999...) = 10, not 11
            "25, 0.56, 10"})
        void truncatesLikeDiffusers(int steps, double strength, int expected) {
            Sigmas s = Schedule.flowMatch().sigmas(steps, TimeShift.of(3.0));
            assertThat(s.startIndexForStrength(strength)).isEqualTo(expected);
            int init = (int) Math.max(steps - Math.min(steps * strength, steps), 0); // diffusers get_timesteps
            assertThat(expected).isEqualTo(init);
        }

        @Test
        void alwaysLeavesAStepForPracticalStrengths() {
            assertThat(sd3.startIndexForStrength(1e-6)).isEqualTo(27);
        }

        @Test
        void rejectsAboveOne() {
            assertThatThrownBy(() -> sd3.startIndexForStrength(1.5)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("strength must be in (0, 1], found 1.5");
        }

        @ParameterizedTest
        @ValueSource(doubles = {0.0, -0.5})
        void rejectsZeroOrNegative(double strength) {
            assertThatThrownBy(() -> sd3.startIndexForStrength(strength)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("strength must be in (0, 1], found " + strength);
        }

        @Test
        void rejectsNaN() {
            assertThatThrownBy(() -> sd3.startIndexForStrength(Double.NaN))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("strength must be in (0, 1], found NaN");
        }
    }
}
