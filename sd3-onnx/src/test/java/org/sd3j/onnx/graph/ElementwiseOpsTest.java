package org.sd3j.onnx.graph;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.tensor.Tensor;

/** The comparison, selection and reduction ops run in ONNX Runtime with the semantics their Javadoc states. */
class ElementwiseOpsTest {

    private static Tensor run(GraphBuilder g, Tensor x) {
        try (GraphSession s = GraphSession.create(g.build(), OnnxOptions.cpu())) {
            return s.run(Map.of("x", x)).get("y");
        }
    }

    @Test
    void whereLessAbsNegMinMax() {
        GraphBuilder g = new GraphBuilder("ops");
        Value x = g.input("x", ElementType.FLOAT, Dim.of(4));
        Value zero = g.scalar(0f);
        // |x| where x < 0, else min(max(x, 1), 2), then negated
        Value y = g.neg(g.where(g.less(x, zero), g.abs(x), g.min(g.max(x, g.scalar(1f)), g.scalar(2f))));
        g.output(y, "y");
        assertThat(run(g, Tensor.of(new float[] {-3f, 0.5f, 1.5f, 7f}, 4)).toArray())
                .containsExactly(-3f, -1f, -1.5f, -2f);
    }

    @Test
    void argMaxTakesTheFirstMaximumLikeTorch() {
        GraphBuilder g = new GraphBuilder("ops");
        Value x = g.input("x", ElementType.FLOAT, Dim.of(2), Dim.of(4));
        g.output(g.cast(g.argMax(x, -1, false), ElementType.FLOAT), "y");
        assertThat(run(g, Tensor.of(new float[] {1, 9, 9, 0, 5, 5, 5, 5}, 2, 4)).toArray()).containsExactly(1f, 0f);
    }

    @Test
    void logFloorEqualExpand() {
        GraphBuilder g = new GraphBuilder("ops");
        Value x = g.input("x", ElementType.FLOAT, Dim.of(3));
        Value flo = g.floor(g.log(x));
        Value eq = g.cast(g.equal(flo, g.scalar(1f)), ElementType.FLOAT);
        Value y = g.expand(g.unsqueeze(eq, 0), g.int64s(2, 3));
        g.output(y, "y");
        Tensor out = run(g, Tensor.of(new float[] {1f, (float) Math.E * 1.5f, 100f}, 3));
        assertThat(out.shape()).containsExactly(2, 3);
        assertThat(out.toArray()).containsExactly(0f, 1f, 0f, 0f, 1f, 0f);
    }
}
