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
    void negativeDurationIsRejected() {
        assertThatIllegalArgumentException().isThrownBy(() -> Units.seconds(Duration.ofMillis(-1)))
                .withMessage("duration must be >= 0, found PT-0.001S");
    }
}
