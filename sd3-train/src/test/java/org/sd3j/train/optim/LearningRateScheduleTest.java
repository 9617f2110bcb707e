package org.sd3j.train.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LearningRateScheduleTest {

    @Test
    void warmupRisesLinearlyFromZeroThenStaysAtPeak() {
        LearningRateSchedule s = LearningRateSchedule.warmupConstant(1e-4, 500);
        assertThat(s.at(0)).isZero();
        assertThat(s.at(1)).isCloseTo(2e-7, within(1e-20));
        assertThat(s.at(250)).isCloseTo(5e-5, within(1e-20));
        assertThat(s.at(499)).isCloseTo(9.98e-5, within(1e-19));
        assertThat(s.at(500)).isEqualTo(1e-4);
        assertThat(s.at(1_000_000)).isEqualTo(1e-4);
    }

    @Test
    void constantHasNoWarmup() {
        LearningRateSchedule s = LearningRateSchedule.constant(3e-4);
        assertThat(s.at(0)).isEqualTo(3e-4);
        assertThat(s.at(7)).isEqualTo(3e-4);
        assertThat(s.isCosine()).isFalse();
    }

    @Test
    void cosineDecaysFromPeakToFloorAndStaysThere() {
        LearningRateSchedule s = LearningRateSchedule.warmupCosine(1.0, 10, 110, 0.1);
        assertThat(s.at(5)).isEqualTo(0.5);
        assertThat(s.at(10)).isEqualTo(1.0);
        // Halfway through the decay: floor + (peak - floor) / 2.
        assertThat(s.at(60)).isCloseTo(0.55, within(1e-15));
        // A quarter: floor + (peak - floor) * (1 + cos(pi/4)) / 2.
        assertThat(s.at(35)).isCloseTo(0.1 + 0.9 * (1 + Math.sqrt(0.5)) / 2, within(1e-15));
        assertThat(s.at(110)).isCloseTo(0.1, within(1e-15));
        assertThat(s.at(5000)).isCloseTo(0.1, within(1e-15));
    }

    @Test
    void warmupStableDecayHoldsThePeakThenDecaysOverItsLastStretch() {
        LearningRateSchedule s = LearningRateSchedule.warmupStableDecay(1.0, 10, 60, 110, 0);
        assertThat(s.at(5)).isEqualTo(0.5);
        assertThat(s.at(10)).isEqualTo(1.0);
        assertThat(s.at(59)).isEqualTo(1.0);
        assertThat(s.at(60)).isEqualTo(1.0);
        assertThat(s.at(85)).isCloseTo(0.5, within(1e-15));
        assertThat(s.at(110)).isCloseTo(0, within(1e-15));
        assertThat(s.at(500)).isCloseTo(0, within(1e-15));
        assertThat(s.toString()).isEqualTo("warmup 10 then constant 1.0 until step 60 then cosine 1.0 -> 0.0 at step"
                + " 110");
        // With the decay starting right after the warm-up it is warmupCosine.
        LearningRateSchedule cosine = LearningRateSchedule.warmupCosine(1.0, 10, 110, 0.1);
        LearningRateSchedule same = LearningRateSchedule.warmupStableDecay(1.0, 10, 10, 110, 0.1);
        for (int i = 0; i < 120; i++) {
            assertThat(same.at(i)).isEqualTo(cosine.at(i));
        }
        assertThatThrownBy(() -> LearningRateSchedule.warmupStableDecay(1, 10, 5, 20, 0))
                .hasMessage("decayStart must be >= warmupSteps (10), found 5");
        assertThatThrownBy(() -> LearningRateSchedule.warmupStableDecay(1, 10, 20, 20, 0))
                .hasMessage("totalSteps must be > decayStart (20), found 20");
    }

    @Test
    void cosineToZeroMatchesHuggingFacesCosineScheduleWithWarmup() {
        // transformers.get_cosine_schedule_with_warmup(warmup=2, total=12): lambda(7) = 0.5*(1+cos(pi*0.5)) = 0.5
        LearningRateSchedule s = LearningRateSchedule.warmupCosine(2e-4, 2, 12, 0);
        assertThat(s.at(1)).isEqualTo(1e-4);
        assertThat(s.at(7)).isCloseTo(1e-4, within(1e-18));
        assertThat(s.at(12)).isCloseTo(0, within(1e-20));
    }

    @Test
    void isAPureFunctionOfTheStep() {
        LearningRateSchedule s = LearningRateSchedule.warmupCosine(1e-3, 3, 30, 1e-5);
        double[] first = new double[40];
        for (int i = 39; i >= 0; i--) {
            first[i] = s.at(i);
        }
        for (int i = 0; i < 40; i++) {
            assertThat(s.at(i)).isEqualTo(first[i]);
        }
    }

    @Test
    void argumentsAreChecked() {
        assertThatThrownBy(() -> LearningRateSchedule.warmupConstant(-1, 0))
                .hasMessage("peak must be finite and >= 0, found -1.0");
        assertThatThrownBy(() -> LearningRateSchedule.warmupConstant(1, -5))
                .hasMessage("warmupSteps must be >= 0, found -5");
        assertThatThrownBy(() -> LearningRateSchedule.warmupCosine(1, 10, 10, 0))
                .hasMessage("totalSteps must be > warmupSteps (10), found 10");
        assertThatThrownBy(() -> LearningRateSchedule.warmupCosine(1, 0, 10, 2))
                .hasMessage("floor must be in [0, peak] = [0, 1.0], found 2.0");
        assertThatThrownBy(() -> LearningRateSchedule.constant(1).at(-1))
                .hasMessage("step must be >= 0, found -1");
    }
}
