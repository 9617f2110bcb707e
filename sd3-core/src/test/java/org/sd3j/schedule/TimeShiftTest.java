package org.sd3j.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class TimeShiftTest {

    @Nested
    class Of {
        @ParameterizedTest(name = "shift 3: {0} -> {1}")
        @CsvSource({"0.1, 0.25", "0.25, 0.5", "0.5, 0.75", "0.75, 0.9", "0.9, 0.964286"})
        void shiftThreeMapsSpecValues(double t, double expected) {
            // SPEC §1; the table is rounded to 6 decimals.
            assertThat(TimeShift.of(3.0).apply(t)).isCloseTo(expected, within(1e-6));
        }

        @Test
        void keepsEndPoints() {
            TimeShift shift = TimeShift.of(3.0);
            assertThat(shift.apply(0.0)).isEqualTo(0.0);
            assertThat(shift.apply(1.0)).isEqualTo(1.0);
        }

        @Test
        void shiftOneIsIdentity() {
            for (double t = 0; t <= 1; t += 0.0625) {
                assertThat(TimeShift.of(1.0).apply(t)).isEqualTo(t);
                assertThat(TimeShift.NONE.apply(t)).isEqualTo(t);
            }
        }

        @Test
        void isStaticWithFactorAndLogMu() {
            TimeShift shift = TimeShift.of(3.0);
            assertThat(shift.isDynamic()).isFalse();
            assertThat(shift.factor()).isEqualTo(3.0);
            assertThat(shift.mu()).isEqualTo(Math.log(3.0));
        }

        @Test
        void sd3DefaultIsThree() {
            assertThat(TimeShift.SD3_DEFAULT).isEqualTo(3.0);
        }

        @Test
        void rejectsZero() {
            assertThatThrownBy(() -> TimeShift.of(0.0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("shift must be finite and > 0, found 0.0");
        }

        @Test
        void rejectsNegative() {
            assertThatThrownBy(() -> TimeShift.of(-3.0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("shift must be finite and > 0, found -3.0");
        }

        @Test
        void rejectsNaN() {
            assertThatThrownBy(() -> TimeShift.of(Double.NaN)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("shift must be finite and > 0, found NaN");
        }

        @Test
        void rejectsInfinity() {
            assertThatThrownBy(() -> TimeShift.of(Double.POSITIVE_INFINITY))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("shift must be finite and > 0, found Infinity");
        }
    }

    @Nested
    class ApplyFloat {
        @Test
        void agreesWithDoubleWithinFloatPrecision() {
            TimeShift shift = TimeShift.of(3.0);
            for (int k = 1; k <= 1000; k++) {
                float t = k / 1000f;
                assertThat((double) shift.applyFloat(t)).isCloseTo(shift.apply(t), within(2e-7));
            }
        }

        @Test
        void computesInFloat32LikeTorch() {
            // torch: shift * sigmas / (1 + (shift - 1) * sigmas), every operation rounded to float32.
            float t = 0.001f;
            float expected = 3f * t / (1f + 2f * t);
            assertThat(TimeShift.of(3.0).applyFloat(t)).isEqualTo(expected);
            assertThat(expected).isCloseTo(0.0029940f, within(1e-7f)); // SPEC §2.1 sigma_min at shift 3
        }

        @Test
        void dynamicAgreesWithDouble() {
            TimeShift shift = TimeShift.dynamic(0.8);
            for (float t : new float[] {0.001f, 0.25f, 0.5f, 0.999f, 1f}) {
                assertThat((double) shift.applyFloat(t)).isCloseTo(shift.apply(t), within(2e-7));
            }
        }
    }

    @Nested
    class Invert {
        @ParameterizedTest
        @ValueSource(doubles = {0.0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999, 1.0})
        void roundTripsStatic(double t) {
            TimeShift shift = TimeShift.of(3.0);
            assertThat(shift.invert(shift.apply(t))).isCloseTo(t, within(1e-12));
            assertThat(shift.apply(shift.invert(t))).isCloseTo(t, within(1e-12));
        }

        @ParameterizedTest
        @ValueSource(doubles = {0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999, 1.0})
        void roundTripsDynamic(double t) {
            TimeShift shift = TimeShift.dynamic(1.15);
            assertThat(shift.invert(shift.apply(t))).isCloseTo(t, within(1e-12));
            assertThat(shift.apply(shift.invert(t))).isCloseTo(t, within(1e-12));
        }

        @Test
        void specInverseFormula() {
            // SPEC §1: t = u / (s - (s-1) u); shift 3 maps 0.5 to 0.75, so 0.75 maps back to 0.5.
            assertThat(TimeShift.of(3.0).invert(0.75)).isCloseTo(0.5, within(1e-15));
        }
    }

    @Nested
    class Dynamic {
        @ParameterizedTest
        @ValueSource(doubles = {1e-3, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0})
        void muLnSAgreesWithStaticS(double t) {
            // SPEC §2.6: static shift s == dynamic mu = ln s (same map, different rounding).
            for (double s : new double[] {0.5, 1.5, 3.0, 6.0}) {
                assertThat(TimeShift.dynamic(Math.log(s)).apply(t)).isCloseTo(TimeShift.of(s).apply(t),
                        within(1e-12));
            }
        }

        @Test
        void usesFluxFormula() {
            double mu = 0.8;
            double t = 0.3;
            double expected = Math.exp(mu) / (Math.exp(mu) + (1 / t - 1));
            assertThat(TimeShift.dynamic(mu).apply(t)).isEqualTo(expected);
        }

        @Test
        void isDynamicWithMuAndFactor() {
            TimeShift shift = TimeShift.dynamic(0.5);
            assertThat(shift.isDynamic()).isTrue();
            assertThat(shift.mu()).isEqualTo(0.5);
            assertThat(shift.factor()).isEqualTo(Math.exp(0.5));
        }

        @Test
        void muZeroIsIdentity() {
            assertThat(TimeShift.dynamic(0).apply(0.37)).isCloseTo(0.37, within(1e-15));
        }

        @Test
        void rejectsNaN() {
            assertThatThrownBy(() -> TimeShift.dynamic(Double.NaN)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("mu must be finite, found NaN");
        }

        @Test
        void rejectsInfinity() {
            assertThatThrownBy(() -> TimeShift.dynamic(Double.NEGATIVE_INFINITY))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("mu must be finite, found -Infinity");
        }

        @Test
        void isNotEqualToTheStaticShiftOfSameFactor() {
            assertThat(TimeShift.dynamic(Math.log(3))).isNotEqualTo(TimeShift.of(3));
        }
    }

    @Nested
    class ForResolution {
        @Test
        void isSqrtOfPixelRatio() {
            // Paper: going from n to m pixels, s = sqrt(m/n).
            assertThat(TimeShift.forResolution(256L * 256, 1024L * 1024).factor()).isCloseTo(4.0, within(1e-15));
            assertThat(TimeShift.forResolution(1024L * 1024, 512L * 512).factor()).isCloseTo(0.5, within(1e-15));
            assertThat(TimeShift.forResolution(1000, 3000).factor()).isCloseTo(Math.sqrt(3), within(1e-15));
        }

        @Test
        void sameResolutionIsNoShift() {
            assertThat(TimeShift.forResolution(4096, 4096)).isEqualTo(TimeShift.NONE);
        }

        @Test
        void isStatic() {
            assertThat(TimeShift.forResolution(1, 4).isDynamic()).isFalse();
        }

        @Test
        void rejectsZeroBase() {
            assertThatThrownBy(() -> TimeShift.forResolution(0, 4)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("basePixels must be > 0, found 0");
        }

        @Test
        void rejectsNegativeTarget() {
            assertThatThrownBy(() -> TimeShift.forResolution(4, -4)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("targetPixels must be > 0, found -4");
        }
    }

    @Nested
    class Rescale {
        @Test
        void sd3ShiftAt512IsOneAndAHalf() {
            assertThat(TimeShift.rescale(3.0, 1024, 1024, 512, 512).factor()).isCloseTo(1.5, within(1e-15));
        }

        @Test
        void doublingBothSidesDoublesTheShift() {
            assertThat(TimeShift.rescale(3.0, 1024, 1024, 2048, 2048).factor()).isCloseTo(6.0, within(1e-15));
        }

        @Test
        void sameAreaKeepsTheShift() {
            assertThat(TimeShift.rescale(3.0, 1024, 1024, 512, 2048).factor()).isCloseTo(3.0, within(1e-15));
        }

        @Test
        void rejectsBadShift() {
            assertThatThrownBy(() -> TimeShift.rescale(Double.NaN, 1024, 1024, 512, 512))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("shift must be finite and > 0, found NaN");
        }

        @Test
        void rejectsTwoNegativeSidesEvenThoughTheirProductIsPositive() {
            assertThatThrownBy(() -> TimeShift.rescale(3.0, -1024, -1024, 512, 512))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("fromWidth must be >= 1, found -1024");
        }

        @Test
        void rejectsZeroTargetHeight() {
            assertThatThrownBy(() -> TimeShift.rescale(3.0, 1024, 1024, 512, 0))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("toHeight must be >= 1, found 0");
        }
    }

    @Nested
    class DynamicForTokens {
        // diffusers calculate_shift defaults: base_seq_len 256, max_seq_len 4096, base_shift 0.5, max_shift 1.15.
        private TimeShift defaults(int tokens) {
            return TimeShift.dynamicForTokens(tokens, 256, 4096, 0.5, 1.15);
        }

        @Test
        void baseTokensGiveBaseShift() {
            assertThat(defaults(256).mu()).isCloseTo(0.5, within(1e-12));
        }

        @Test
        void maxTokensGiveMaxShift() {
            // 1024x1024: latent 128x128, patch 2 -> 4096 image tokens.
            assertThat(defaults(4096).mu()).isCloseTo(1.15, within(1e-12));
        }

        @Test
        void interpolatesLinearly() {
            assertThat(defaults(2176).mu()).isCloseTo(0.825, within(1e-12)); // midpoint
            assertThat(defaults(1024).mu()).isCloseTo(0.5 + 0.65 * 768 / 3840, within(1e-12)); // 512x512
        }

        @Test
        void extrapolatesBeyondMax() {
            assertThat(defaults(8192).mu()).isCloseTo(1.15 + 0.65 * 4096 / 3840, within(1e-12));
        }

        @Test
        void isDynamic() {
            assertThat(defaults(1024).isDynamic()).isTrue();
        }

        @Test
        void matchesDiffusersFormulaExactly() {
            double m = (1.15 - 0.5) / (4096 - 256);
            double b = 0.5 - m * 256;
            assertThat(defaults(3000).mu()).isEqualTo(3000 * m + b);
        }

        @Test
        void rejectsZeroTokens() {
            assertThatThrownBy(() -> defaults(0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("imageTokens must be >= 1, found 0");
        }

        @Test
        void rejectsMaxNotAboveBase() {
            assertThatThrownBy(() -> TimeShift.dynamicForTokens(300, 256, 256, 0.5, 1.15))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("maxSeqLen must be > baseSeqLen (256), found 256");
        }

        @Test
        void rejectsNonFiniteResult() {
            assertThatThrownBy(() -> TimeShift.dynamicForTokens(300, 256, 4096, Double.NaN, 1.15))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("mu must be finite, found NaN");
        }
    }

    @Nested
    class ValueSemantics {
        @Test
        void equalShiftsAreEqual() {
            assertThat(TimeShift.of(3.0)).isEqualTo(TimeShift.of(3.0)).hasSameHashCodeAs(TimeShift.of(3.0));
            assertThat(TimeShift.dynamic(0.5)).isEqualTo(TimeShift.dynamic(0.5))
                    .hasSameHashCodeAs(TimeShift.dynamic(0.5));
            assertThat(TimeShift.of(1.0)).isEqualTo(TimeShift.NONE);
        }

        @Test
        void differentShiftsDiffer() {
            assertThat(TimeShift.of(3.0)).isNotEqualTo(TimeShift.of(2.0));
        }

        @Test
        void toStringShowsTheValue() {
            assertThat(TimeShift.of(3.0)).hasToString("3.0");
            assertThat(TimeShift.dynamic(0.5)).hasToString("mu=0.5");
        }
    }
}
