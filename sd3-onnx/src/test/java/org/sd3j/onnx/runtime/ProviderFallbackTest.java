package org.sd3j.onnx.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.tensor.Tensor;

/**
 * The test classpath has ONNX Runtime's CPU artifact, where CUDA cannot be added: what a user without the GPU
 * artifact or without CUDA libraries meets.
 */
class ProviderFallbackTest {

    @Test
    void unavailableCudaFailsSayingWhyAndHowToFixIt() {
        assertThatThrownBy(() -> SessionOptionsFactory.resolve(OnnxOptions.cuda(0)))
                .isInstanceOf(ProviderUnavailableException.class)
                .hasMessageContaining("CUDA execution provider (device 0) is unavailable: ONNX Runtime says '")
                .hasMessageContaining("CUDA") // ONNX Runtime's own reason, e.g. "Failed to find CUDA shared provider"
                .hasMessageContaining("replace com.microsoft.onnxruntime:onnxruntime with "
                        + "com.microsoft.onnxruntime:onnxruntime_gpu")
                .hasMessageContaining("nvidia-smi")
                .hasMessageContaining("Fallback.CPU")
                .satisfies(e -> assertThat(((ProviderUnavailableException) e).provider())
                        .isEqualTo(ExecutionProvider.cuda(0)));
    }

    @Test
    void aSessionWithUnavailableCudaFailsBeforeAnythingRuns() {
        assertThatThrownBy(() -> GraphSession.create(doubler(), OnnxOptions.cuda(1)))
                .isInstanceOf(ProviderUnavailableException.class)
                .hasMessageContaining("device 1");
    }

    @Test
    void fallbackToCpuResolvesToTheCpuAndKeepsTheOtherSettings() {
        OnnxOptions asked = OnnxOptions.builder().provider(ExecutionProvider.cuda(0))
                .fallback(OnnxOptions.Fallback.CPU).intraOpThreads(1).build();
        OnnxOptions resolved = SessionOptionsFactory.resolve(asked);
        assertThat(resolved.provider()).isEqualTo(ExecutionProvider.CPU);
        assertThat(resolved.intraOpThreads()).isEqualTo(1);
        assertThat(resolved.fallback()).isEqualTo(OnnxOptions.Fallback.CPU);
    }

    @Test
    void aSessionWithFallbackRunsOnTheCpu() {
        OnnxOptions asked = OnnxOptions.builder().provider(ExecutionProvider.cuda(0))
                .fallback(OnnxOptions.Fallback.CPU).build();
        try (GraphSession s = GraphSession.create(doubler(), asked)) {
            Tensor out = s.run(Map.of("x", Tensor.of(new float[] {1, 2, 3}, 3))).get("y");
            assertThat(out.toArray()).containsExactly(2, 4, 6);
        }
    }

    @Test
    void otherProvidersMissingFromTheBuildSayWhichBuildIsNeeded() {
        assertThatThrownBy(() -> SessionOptionsFactory.resolve(OnnxOptions.builder()
                .provider(ExecutionProvider.directMl(0)).build()))
                .isInstanceOf(ProviderUnavailableException.class)
                .hasMessageContaining("DirectML execution provider (device 0) is unavailable")
                .hasMessageContaining("an ONNX Runtime build that includes the DirectML execution provider");
    }

    /** y = x + x over a float vector. */
    private static OnnxGraph doubler() {
        GraphBuilder g = new GraphBuilder("doubler");
        var x = g.input("x", org.sd3j.onnx.graph.ElementType.FLOAT, org.sd3j.onnx.graph.Dim.symbol("n"));
        g.output(g.add(x, x), "y");
        return g.build();
    }
}
