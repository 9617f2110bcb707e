package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class UnitsTest {

    @Test
    void megabytesAreDecimalWithOneDecimal() {
        assertThat(Units.megabytes(4_550_000)).isEqualTo("4.6 MB");
        assertThat(Units.megabytes(0)).isEqualTo("0.0 MB");
    }

    @Test
    void negativeSizeIsRejected() {
        assertThatIllegalArgumentException().isThrownBy(() -> Units.megabytes(-1))
                .withMessage("bytes must be >= 0, found -1");
    }

    @Test
    void secondsHaveTwoDecimals() {
        assertThat(Units.seconds(Duration.ofMillis(1234))).isEqualTo("1.23 s");
    }

    @Test
    void longDurationsAlsoReadAsAClock() {
        assertThat(Units.longSeconds(Duration.ofMillis(59_990))).isEqualTo("59.99 s");
        assertThat(Units.longSeconds(Duration.ofSeconds(3725))).isEqualTo("3725.00 s (1:02:05)");
    }

    @Test
    void settingsReadAsTyped() {
        assertThat(Units.number(4.0)).isEqualTo("4");
        assertThat(Units.number(0.5)).isEqualTo("0.5");
    }

    @Test
    void negativeDurationIsRejected() {
        assertThatIllegalArgumentException().isThrownBy(() -> Units.seconds(Duration.ofMillis(-1)))
                .withMessage("duration must be >= 0, found PT-0.001S");
    }

    @Test
    void bytesPickTheirUnit() {
        assertThat(Units.bytes(999)).isEqualTo("999 B");
        assertThat(Units.bytes(31_600)).isEqualTo("31.6 kB");
        assertThat(Units.bytes(721_000)).isEqualTo("721 kB");
        assertThat(Units.bytes(4_170_000_000L)).isEqualTo("4.17 GB");
    }

    @Test
    void countsHaveThreeSignificantDigits() {
        assertThat(Units.count(117)).isEqualTo("117");
        assertThat(Units.count(1234)).isEqualTo("1.23K");
        assertThat(Units.count(164_321)).isEqualTo("164K");
        assertThat(Units.count(999_600)).isEqualTo("1.00M");
        assertThat(Units.count(2_028_328_000L)).isEqualTo("2.03B");
    }

    @Test
    void clockReadsMinutesAndSeconds() {
        assertThat(Units.clock(Duration.ofSeconds(14))).isEqualTo("0:14");
        assertThat(Units.clock(Duration.ofSeconds(325))).isEqualTo("5:25");
        assertThat(Units.clock(Duration.ofSeconds(3725))).isEqualTo("1:02:05");
    }

    @Test
    void millisHaveThreeDecimals() {
        assertThat(Units.millis(Duration.ofMillis(4))).isEqualTo("0.004 s");
        assertThat(Units.millis(Duration.ofMillis(12_345))).isEqualTo("12.345 s");
    }
}
