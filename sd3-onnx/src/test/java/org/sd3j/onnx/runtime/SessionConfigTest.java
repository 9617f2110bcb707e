package org.sd3j.onnx.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;

class SessionConfigTest {

    @Test
    void autoPrepacksUpToOneGibibyte() {
        assertThat(SessionConfig.Prepacking.AUTO.appliesTo(1L << 30)).isTrue();
        assertThat(SessionConfig.Prepacking.AUTO.appliesTo((1L << 30) + 1)).isFalse();
        assertThat(SessionConfig.Prepacking.ON.appliesTo(Long.MAX_VALUE)).isTrue();
        assertThat(SessionConfig.Prepacking.OFF.appliesTo(0)).isFalse();
    }

    @Test
    void withersKeepTheOtherSettings() {
        SessionConfig c = SessionConfig.cuda(1).withIntraOpThreads(3)
                .withPrepacking(SessionConfig.Prepacking.OFF).withProfiling(Path.of("/tmp/p"));
        assertThat(c).isEqualTo(new SessionConfig(ExecutionProvider.CUDA, 1, 3, SessionConfig.Prepacking.OFF,
                Path.of("/tmp/p")));
        assertThat(SessionConfig.cpu().profiling()).isEmpty();
    }

    @Test
    void rejectsBadValues() {
        assertThatThrownBy(() -> SessionConfig.cpu().withIntraOpThreads(-1))
                .hasMessage("intraOpThreads must be >= 0, found -1");
        assertThatThrownBy(() -> SessionConfig.cuda(-2)).hasMessage("deviceId must be >= 0, found -2");
        assertThatThrownBy(() -> SessionConfig.cpu().withPrepacking(null))
                .hasMessage("prepacking must be non-null, found null");
    }
}
