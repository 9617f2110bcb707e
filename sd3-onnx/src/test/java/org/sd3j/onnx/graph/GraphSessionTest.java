package org.sd3j.onnx.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.tensor.Tensor;

class GraphSessionTest {

    static WeightData floats(float[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return new WeightData(ElementType.FLOAT, shape, b.flip());
    }

    /** y = x @ W^T + b over [B, L, 3] -> [B, L, 2]. */
    static OnnxGraph linearGraph() {
        GraphBuilder g = new GraphBuilder("linear");
        Value x = g.input("x", ElementType.FLOAT, Dim.symbol("batch"), Dim.symbol("seq"), Dim.of(3));
        Value w = g.weight("w", floats(new float[] {1, 2, 3, -1, 0, 0.5f}, 2, 3));
        Value b = g.weight("b", floats(new float[] {0.25f, -0.5f}, 2));
        Value y = g.linear(x, w, b);
        assertThat(y.shape()).containsExactly(Dim.symbol("batch"), Dim.symbol("seq"), Dim.of(2));
        g.output(y, "y");
        return g.build();
    }

    static float[] expectedLinear(float[] x) {
        float[] out = new float[x.length / 3 * 2];
        for (int r = 0; r < x.length / 3; r++) {
            float a = x[3 * r];
            float b = x[3 * r + 1];
            float c = x[3 * r + 2];
            out[2 * r] = a + 2 * b + 3 * c + 0.25f;
            out[2 * r + 1] = -a + 0.5f * c - 0.5f;
        }
        return out;
    }

    @Test
    void runsALinearLayerWithBoundWeightsForAnyBatchAndLength() {
        try (GraphSession s = GraphSession.create(linearGraph(), OnnxOptions.cpu())) {
            for (int[] shape : new int[][] {{1, 1, 3}, {2, 5, 3}}) {
                Tensor x = Tensor.zeros(shape);
                for (int i = 0; i < x.size(); i++) {
                    x.set(i, (i % 7) - 3.5f);
                }
                Tensor y = s.run(Map.of("x", x)).get("y");
                assertThat(y.shape()).containsExactly(shape[0], shape[1], 2);
                assertThat(y.toArray()).containsExactly(expectedLinear(x.toArray()),
                        org.assertj.core.data.Offset.offset(1e-5f));
            }
        }
    }

    @Test
    void savedModelWithExternalDataRunsInPlainOnnxRuntime(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model.onnx");
        linearGraph().save(model);
        assertThat(dir.resolve("model.onnx_data")).exists();
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("model.onnx",
                    "model.onnx_data");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[] x = {1, 2, 3, 4, 5, 6};
        try (OrtSession s = env.createSession(model.toString());
             OnnxTensor in = OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(x), new long[] {1, 2, 3});
             OrtSession.Result r = s.run(Map.of("x", in))) {
            float[][][] y = (float[][][]) r.get(0).getValue();
            float[] expected = expectedLinear(x);
            assertThat(y[0][0]).containsExactly(new float[] {expected[0], expected[1]},
                    org.assertj.core.data.Offset.offset(1e-5f));
            assertThat(y[0][1]).containsExactly(new float[] {expected[2], expected[3]},
                    org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    @Test
    void float16InputsAndOutputsConvertToAndFromFloat32() {
        GraphBuilder g = new GraphBuilder("half");
        Value x = g.input("x", ElementType.FLOAT16, Dim.of(3));
        g.output(g.mul(x, g.cast(g.scalar(2f), ElementType.FLOAT16)), "y");
        try (GraphSession s = GraphSession.create(g.build(), OnnxOptions.cpu())) {
            Tensor y = s.run(Map.of("x", Tensor.of(new float[] {1.5f, -0.25f, 1000f}, 3))).get("y");
            assertThat(y.toArray()).containsExactly(3f, -0.5f, 2000f);
        }
    }

    @Test
    void weightsBoundAsInputsGiveTheSameResult() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 1, 2, 3);
        try (GraphSession a = GraphSession.create(linearGraph(), OnnxOptions.cpu());
             GraphSession b = GraphSession.create(linearGraph(), OnnxOptions.cpu(),
                     GraphSession.WeightBinding.INPUTS)) {
            assertThat(b.inputNames()).containsExactly("x");
            assertThat(b.run(Map.of("x", x)).get("y").toArray()).containsExactly(a.run(Map.of("x", x)).get("y").toArray());
        }
    }

    @Test
    void aBindingThatOverridesAWeightLeavesTheSessionsOwnWeightIntact() {
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 1, 1, 3);
        try (GraphSession s = GraphSession.create(linearGraph(), OnnxOptions.cpu(), GraphSession.WeightBinding.INPUTS)) {
            float[] before = s.run(Map.of("x", x)).get("y").toArray();
            Tensor y = Tensor.zeros(1, 1, 2);
            for (int round = 0; round < 2; round++) {
                // Closed unused, then after two runs with two different weight tensors: each time the binding
                // must close only what it created, never the session's weight tensor.
                try (GraphSession.Binding b = s.bind(Map.of(), List.of("x", "w"), List.of("y"))) {
                    if (round == 1) {
                        b.run(new Tensor[] {y}, x, Tensor.zeros(2, 3));
                        assertThat(y.toArray()).containsExactly(0.25f, -0.5f);
                        b.run(new Tensor[] {y}, x, Tensor.of(new float[] {1, 0, 0, 0, 1, 0}, 2, 3));
                        assertThat(y.toArray()).containsExactly(1.25f, 1.5f);
                    }
                }
                assertThat(s.run(Map.of("x", x)).get("y").toArray()).containsExactly(before);
            }
        }
    }

    @Test
    void fixedDimensionsRunThatShapeOnlyWithTheSameResults() {
        OnnxOptions fixed = OnnxOptions.builder().fixedDimension("batch", 2).fixedDimension("seq", 5).build();
        try (GraphSession s = GraphSession.create(linearGraph(), fixed)) {
            Tensor x = Tensor.zeros(2, 5, 3);
            for (int i = 0; i < x.size(); i++) {
                x.set(i, (i % 7) - 3.5f);
            }
            assertThat(s.run(Map.of("x", x)).get("y").toArray()).containsExactly(expectedLinear(x.toArray()),
                    org.assertj.core.data.Offset.offset(1e-5f));
            assertThatThrownBy(() -> s.run(Map.of("x", Tensor.zeros(1, 5, 3))))
                    .isInstanceOf(org.sd3j.BackendException.class).hasMessageContaining("dimensions");
        }
    }

    /**
     * rows = W[0 : batch] added to x [batch, 3]: once the batch is fixed, ONNX Runtime folds the slice of the weight
     * into a constant while optimizing, so it must see the weight's bytes then (not only when the session runs).
     */
    @Test
    void fixedDimensionsLetOnnxRuntimeFoldComputationsOnBoundWeights() {
        GraphBuilder g = new GraphBuilder("fold");
        Value x = g.input("x", ElementType.FLOAT, Dim.symbol("batch"), Dim.of(3));
        Value w = g.weight("w", floats(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 4, 3));
        Value rows = g.slice(w, g.int64s(0), g.unsqueeze(g.dimOf(x, 0), 0), g.int64s(0));
        g.output(g.add(x, rows), "y");
        OnnxGraph graph = g.build();
        for (OnnxOptions o : List.of(OnnxOptions.cpu(), OnnxOptions.builder().fixedDimension("batch", 2).build())) {
            try (GraphSession s = GraphSession.create(graph, o)) {
                Tensor y = s.run(Map.of("x", Tensor.of(new float[] {0.5f, 0, 0, 0, 0, -1}, 2, 3))).get("y");
                assertThat(y.toArray()).containsExactly(1.5f, 2, 3, 4, 5, 5);
            }
        }
    }

    /**
     * A value that is an output under another name and also read by other nodes is produced under the output's
     * name: no Identity (ONNX Runtime keeps such an Identity and copies the tensor).
     */
    @Test
    void outputsAreProducedUnderTheirOwnNamesWithoutIdentities() {
        GraphBuilder g = new GraphBuilder("named");
        Value x = g.input("x", ElementType.FLOAT, Dim.of(2));
        Value doubled = g.add(x, x);
        g.output(doubled, "doubled");
        g.output(g.mul(doubled, doubled), "squared");
        g.output(x, "same_as_input"); // an input cannot be renamed: this one keeps its Identity
        OnnxGraph graph = g.build();
        assertThat(graph.nodes()).extracting(Node::op).containsExactly(Op.ADD, Op.MUL, Op.IDENTITY);
        assertThat(graph.nodes().get(0).outputs()).containsExactly("doubled");
        assertThat(graph.nodes().get(1).inputs()).containsExactly("doubled", "doubled");
        try (GraphSession s = GraphSession.create(graph, OnnxOptions.cpu())) {
            Map<String, Tensor> out = s.run(Map.of("x", Tensor.of(new float[] {1, -3}, 2)));
            assertThat(out.get("doubled").toArray()).containsExactly(2, -6);
            assertThat(out.get("squared").toArray()).containsExactly(4, 36);
            assertThat(out.get("same_as_input").toArray()).containsExactly(1, -3);
        }
    }

    @Test
    void sumOfSquaresAddsUpEveryElementAndSumAddsTerms() {
        GraphBuilder g = new GraphBuilder("squares");
        Value b = g.input("b", ElementType.FLOAT, Dim.of(2), Dim.of(4), Dim.of(3));
        Value ss = g.sumOfSquares(b);
        assertThat(ss.shape()).isEmpty();
        g.output(g.sum(ss, ss, g.scalar(1f)), "ss");
        float[] bv = new float[24];
        double squares = 0;
        for (int i = 0; i < bv.length; i++) {
            bv[i] = 1 - i * 0.25f;
            squares += bv[i] * bv[i];
        }
        try (GraphSession s = GraphSession.create(g.build(), OnnxOptions.cpu())) {
            Tensor out = s.run(Map.of("b", Tensor.of(bv, 2, 4, 3))).get("ss");
            assertThat(out.shape()).isEmpty();
            assertThat(out.get(0)).isCloseTo((float) (2 * squares + 1), org.assertj.core.data.Offset.offset(1e-4f));
        }
    }

    @Test
    void aVectorTimesABatchOfMatricesSumsTheirRowsWithTheShapeNumpyGives() {
        GraphBuilder g = new GraphBuilder("rows");
        Value m = g.input("m", ElementType.FLOAT, Dim.symbol("batch"), Dim.of(3), Dim.of(2));
        Value ones = g.expand(g.scalar(1f), g.int64s(3), List.of(Dim.of(3)));
        Value sums = g.matMul(ones, m);
        assertThat(sums.shape()).containsExactly(Dim.symbol("batch"), Dim.of(2));
        g.output(sums, "sums");
        try (GraphSession s = GraphSession.create(g.build(), OnnxOptions.cpu())) {
            Tensor out = s.run(Map.of("m", Tensor.of(new float[] {1, 2, 3, 4, 5, 6, -1, 0, 0, 1, 2, 2}, 2, 3, 2)))
                    .get("sums");
            assertThat(out.shape()).containsExactly(2, 2);
            assertThat(out.toArray()).containsExactly(9, 12, 1, 3);
        }
    }

    @Test
    void recognisesFloatConstantsOfOneValue() {
        GraphBuilder g = new GraphBuilder("constants");
        assertThat(g.isFloatConstant(g.constant(new float[] {1, 1, 1}, 3), 1f)).isTrue();
        assertThat(g.isFloatConstant(g.constant(new float[] {1, 0.5f}, 2), 1f)).isFalse();
        assertThat(g.isFloatConstant(g.input("x", ElementType.FLOAT, Dim.of(3)), 1f)).isFalse();
        assertThat(g.isFloatConstant(g.int64s(1), 1f)).isFalse();
    }

    @Test
    void closeIsIdempotentAndRunAfterCloseFails() {
        GraphSession s = GraphSession.create(linearGraph(), OnnxOptions.cpu());
        s.close();
        s.close();
        assertThatThrownBy(() -> s.run(Map.of("x", Tensor.zeros(1, 1, 3))))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("session linear is closed");
    }

}
