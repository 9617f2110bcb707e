package org.sd3j.onnx.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;

class OnnxOptionsTest {

    @Test
    void autoPrepacksUpToOneGibibyte() {
        assertThat(OnnxOptions.Prepacking.AUTO.appliesTo(1L << 30)).isTrue();
        assertThat(OnnxOptions.Prepacking.AUTO.appliesTo((1L << 30) + 1)).isFalse();
        assertThat(OnnxOptions.Prepacking.ON.appliesTo(Long.MAX_VALUE)).isTrue();
        assertThat(OnnxOptions.Prepacking.OFF.appliesTo(0)).isFalse();
    }

    @Test
    void withersAndToBuilderKeepTheOtherSettings() {
        OnnxOptions c = OnnxOptions.cuda(1).withIntraOpThreads(3)
                .withPrepacking(OnnxOptions.Prepacking.OFF).withProfiling(Path.of("/tmp/p"));
        OnnxOptions built = OnnxOptions.builder().provider(ExecutionProvider.cuda(1)).intraOpThreads(3)
                .prepacking(OnnxOptions.Prepacking.OFF).profiling(Path.of("/tmp/p")).build();
        assertThat(c).isEqualTo(built).hasSameHashCodeAs(built);
        assertThat(c.toBuilder().build()).isEqualTo(c);
        assertThat(c.toBuilder().memoryArena(false).build()).isNotEqualTo(c);
        assertThat(OnnxOptions.cpu().profiling()).isEmpty();
        assertThat(OnnxOptions.cpu().provider()).isEqualTo(ExecutionProvider.CPU);
        assertThat(OnnxOptions.cpu().fallback()).isEqualTo(OnnxOptions.Fallback.FAIL);
        assertThat(OnnxOptions.cpu().optimizationLevel()).isEqualTo(OnnxOptions.OptimizationLevel.ALL);
    }

    @Test
    void threadsSpinDuringRunsByDefaultAndDimensionsAreFixedOnlyWhenAsked() {
        assertThat(OnnxOptions.cpu().spinning()).isEqualTo(OnnxOptions.Spinning.DURING_RUN);
        assertThat(OnnxOptions.cpu().fixedDimensions()).isEmpty();
        OnnxOptions o = OnnxOptions.builder().spinning(OnnxOptions.Spinning.OFF).fixedDimension("batch", 2)
                .fixedDimension("height", 32).build();
        assertThat(o.spinning()).isEqualTo(OnnxOptions.Spinning.OFF);
        assertThat(o.fixedDimensions()).containsExactly(Map.entry("batch", 2L), Map.entry("height", 32L));
        assertThat(o.toBuilder().build()).isEqualTo(o).hasSameHashCodeAs(o);
        assertThat(o.toBuilder().fixedDimension("batch", 4).build()).isNotEqualTo(o);
        assertThat(o.toBuilder().spinning(OnnxOptions.Spinning.ALWAYS).build()).isNotEqualTo(o);
        assertThat(o.toString()).contains("spinning=OFF", "fixedDimensions={batch=2, height=32}");
        assertThatThrownBy(() -> o.fixedDimensions().put("width", 1L))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void configEntriesAreKeptInOrderAndImmutable() {
        OnnxOptions o = OnnxOptions.builder().configEntry("b", "1").configEntry("a", "2").build();
        assertThat(o.configEntries()).containsExactly(Map.entry("b", "1"), Map.entry("a", "2"));
        assertThatThrownBy(() -> o.configEntries().put("c", "3")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void rejectsBadValues() {
        assertThatThrownBy(() -> OnnxOptions.cpu().withIntraOpThreads(-1))
                .hasMessage("intraOpThreads must be >= 0, found -1");
        assertThatThrownBy(() -> OnnxOptions.cuda(-2)).hasMessage("deviceId must be >= 0, found -2");
        assertThatThrownBy(() -> OnnxOptions.cpu().withPrepacking(null))
                .hasMessage("prepacking must be non-null, found null");
        assertThatThrownBy(() -> OnnxOptions.builder().configEntry(" ", "x"))
                .hasMessage("key must be non-blank, found ' '");
        assertThatThrownBy(() -> OnnxOptions.builder().spinning(null))
                .hasMessage("spinning must be non-null, found null");
        assertThatThrownBy(() -> OnnxOptions.builder().fixedDimension("batch", 0))
                .hasMessage("size must be >= 1, found 0");
        assertThatThrownBy(() -> OnnxOptions.builder().fixedDimension("", 2))
                .hasMessage("name must be non-blank, found ''");
        assertThatThrownBy(() -> ExecutionProvider.named("Vulkan", 0, Map.of()))
                .hasMessageStartingWith("provider name must be one of [CPU, CUDA, TensorRT")
                .hasMessageEndingWith("found Vulkan");
    }

    @Test
    void providersAreNamedAsOnnxRuntimeSpellsThem() {
        assertThat(ExecutionProvider.named("cuda", 2, Map.of())).isEqualTo(ExecutionProvider.cuda(2));
        assertThat(ExecutionProvider.cuda(2)).hasToString("CUDA:2");
        assertThat(ExecutionProvider.CPU.isCpu()).isTrue();
    }
}
