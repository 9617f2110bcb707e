package org.sd3j.onnx.t5;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/**
 * Parity with Stability's reference T5 ({@code other_impls.py}, sd3.5 fbf8f48) on the golden tiny T5-style encoder
 * (2 layers, d_model 192, 4 heads, d_ff 384, vocabulary 1000): two prompts padded to 77 tokens (EOS 1, pad 0), no
 * attention mask. float32 within 1e-4 of the reference's float32 and float64 runs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class T5ParityTest {
    static final double TOLERANCE = 1e-4;

    private TensorSource weightsFile;
    private TensorSource golden;
    private GraphSession session;
    private Map<String, Tensor> outputs;

    static Path resource(String name) {
        try {
            return Path.of(T5ParityTest.class.getResource("/golden/encoders/t5xxl/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test resource " + name, e);
        }
    }

    static long[][] goldenIds(TensorSource golden) {
        long[] flat = golden.toLongArray("input_ids");
        int b = (int) golden.info("input_ids").shape()[0];
        int s = (int) golden.info("input_ids").shape()[1];
        long[][] ids = new long[b][s];
        for (int i = 0; i < b; i++) {
            System.arraycopy(flat, i * s, ids[i], 0, s);
        }
        return ids;
    }

    @BeforeAll
    void run() {
        weightsFile = Safetensors.open(resource("weights.safetensors"));
        golden = Safetensors.open(resource("tokens77.safetensors"));
        T5Weights w = T5Weights.of(weightsFile, resource("weights.safetensors"));
        session = GraphSession.create(T5Graph.build(T5Config.infer(w), w, true), OnnxOptions.cpu(),
                GraphSession.WeightBinding.INITIALIZERS);
        outputs = session.run(Map.of(T5Graph.INPUT_IDS, OnnxT5Encoder.toTensor(goldenIds(golden), 1000)));
    }

    @AfterAll
    void close() {
        session.close();
        golden.close();
        weightsFile.close();
    }

    private double diff(String output, String goldenName) {
        double d = outputs.get(output).maxAbsDiff(golden.toFloatTensor(goldenName));
        System.out.printf("T5 parity %-26s vs %-24s max abs diff %.3g%n", output, goldenName, d);
        return d;
    }

    @Test
    void configIsInferredFromShapes() {
        T5Config c = T5Config.infer(T5Weights.of(weightsFile, resource("weights.safetensors")));
        assertThat(c).isEqualTo(new T5Config(192, 192, 384, 2, 4, 1000, 32, 128, 1e-6));
        assertThat(c.headDim()).isEqualTo(48);
    }

    @Test
    void relativePositionBucketsMatchExactly() {
        assertThat(diff(T5Graph.BUCKETS, "relative_position_bucket")).isZero();
    }

    @Test
    void positionBiasMatches() {
        assertThat(diff(T5Graph.POSITION_BIAS, "position_bias")).isZero();
    }

    @Test
    void everyHiddenStateMatches() {
        for (int i = 0; i <= 2; i++) {
            assertThat(diff(T5Graph.hiddenState(i), T5Graph.hiddenState(i))).isLessThan(TOLERANCE);
        }
    }

    @Test
    void lastHiddenStateMatchesFloat32Reference() {
        assertThat(diff(T5Graph.OUTPUT, "last_hidden_state")).isLessThan(TOLERANCE);
    }

    @Test
    void lastHiddenStateMatchesFloat64Reference() {
        assertThat(diff(T5Graph.OUTPUT, "last_hidden_state_f64")).isLessThan(TOLERANCE);
    }
}
