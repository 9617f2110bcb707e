package org.sd3j.train.step;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.sd3j.schedule.TimeShift;

/** The densities against SPEC §7's values, and their samples against their known moments. */
class TimestepSamplerTest {

    @Test
    void modeAndCosmapMapUniformDrawsAsTheSpecSays() {
        assertThat(TimestepSampler.mode(0.1, 1.29)).isCloseTo(0.802569, within(1e-6));
        assertThat(TimestepSampler.mode(0.25, 1.29)).isCloseTo(0.616416, within(1e-6));
        assertThat(TimestepSampler.mode(0.5, 1.29)).isCloseTo(0.5, within(1e-12));
        assertThat(TimestepSampler.cosmap(0.1)).isCloseTo(0.136729, within(1e-6));
        assertThat(TimestepSampler.cosmap(0.25)).isCloseTo(0.292893, within(1e-6));
        assertThat(TimestepSampler.logitNormalDensity(0.5, 0, 1)).isCloseTo(1.595769, within(1e-6));
    }

    @Test
    void logitNormalSamplesHaveTheirMedianAndSpread() {
        TimestepSampler s = TimestepSampler.logitNormal(0, 1, TimeShift.NONE);
        double[] t = s.sample(new SplittableRandom(1), 20_000);
        Arrays.sort(t);
        // median sigmoid(0) = 0.5; quartiles sigmoid(+-0.674490) = 0.337503 / 0.662497; 20k draws: +-0.01.
        assertThat(t[10_000]).isCloseTo(0.5, within(0.01));
        assertThat(t[5_000]).isCloseTo(0.337503, within(0.01));
        assertThat(t[15_000]).isCloseTo(0.662497, within(0.01));
        assertThat(t[0]).isGreaterThan(0);
        assertThat(t[t.length - 1]).isLessThan(1);
    }

    @Test
    void shiftingALogitNormalMovesItsLocationByTheLogOfTheShift() {
        // SPEC §1: shifting logit-normal(m, s) by alpha gives logit-normal(m + ln alpha, s).
        double[] shifted = TimestepSampler.logitNormal(0, 1, TimeShift.of(3)).sample(new SplittableRandom(2), 20_000);
        Arrays.sort(shifted);
        assertThat(shifted[10_000]).isCloseTo(1 / (1 + Math.exp(-Math.log(3))), within(0.01)); // 0.75
    }

    @Test
    void drawsAreReproducibleFromTheSeed() {
        TimestepSampler s = TimestepSampler.sd3Default();
        assertThat(s.sample(new SplittableRandom(5), 8)).containsExactly(s.sample(new SplittableRandom(5), 8));
    }

    @Test
    void uniformAndCosmapStayInTheUnitInterval() {
        for (TimestepSampler s : new TimestepSampler[] {TimestepSampler.uniform(TimeShift.NONE),
            TimestepSampler.cosmap(TimeShift.NONE), TimestepSampler.mode(1.29, TimeShift.NONE)}) {
            double[] t = s.sample(new SplittableRandom(3), 5_000);
            assertThat(Arrays.stream(t).allMatch(x -> x >= 0 && x <= 1)).as(s.toString()).isTrue();
            assertThat(Arrays.stream(t).average().orElseThrow()).as(s.toString()).isCloseTo(0.5, within(0.02));
        }
    }

    @Test
    void badParametersAreNamed() {
        assertThatThrownBy(() -> TimestepSampler.mode(2.0, TimeShift.NONE))
                .hasMessage("s must be finite with |s| <= 2/(pi-2) = 1.751938, found 2.0");
        assertThatThrownBy(() -> TimestepSampler.logitNormal(0, 0, TimeShift.NONE))
                .hasMessage("s must be finite and > 0, found 0.0");
    }
}
