package org.sd3j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.graph.Value;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.tensor.Tensor;

class StepSessionsTest {
    /** y = 2x + the row count, over x [batch, 3]. */
    private static OnnxGraph graph() {
        GraphBuilder g = new GraphBuilder("twice");
        Value x = g.input("x", ElementType.FLOAT, Dim.symbol("batch"), Dim.of(3));
        Value rows = g.cast(g.dimOf(x, 0), ElementType.FLOAT);
        g.output(g.add(g.mul(x, g.scalar(2f)), rows), "y");
        return g.build();
    }

    private static float[] run(GraphSession s, int batch) {
        Tensor x = Tensor.zeros(batch, 3);
        for (int i = 0; i < x.size(); i++) {
            x.set(i, i);
        }
        return s.run(Map.of("x", x)).get("y").toArray();
    }

    @Test
    void oneSessionPerShapeUpToTheLimitThenTheGeneralOne() {
        try (StepSessions sessions = new StepSessions(graph(), OnnxOptions.cpu(),
                GraphSession.WeightBinding.INITIALIZERS)) {
            List<GraphSession> specialized = new ArrayList<>();
            for (int batch = 1; batch <= StepSessions.MAX_SPECIALIZED; batch++) {
                GraphSession s = sessions.forShape(Map.of("batch", (long) batch));
                assertThat(s).isNotSameAs(sessions.general()).isNotIn(specialized);
                assertThat(sessions.forShape(Map.of("batch", (long) batch))).isSameAs(s);
                assertThat(run(s, batch)).isEqualTo(run(sessions.general(), batch));
                specialized.add(s);
            }
            int beyond = StepSessions.MAX_SPECIALIZED + 1;
            assertThat(sessions.forShape(Map.of("batch", (long) beyond))).isSameAs(sessions.general());
            assertThat(run(sessions.general(), beyond)[0]).isEqualTo(beyond);
            // A specialized session runs its own shape only.
            assertThatThrownBy(() -> run(specialized.get(0), 2)).isInstanceOf(org.sd3j.BackendException.class);
        }
    }

    @Test
    void anUnavailableProviderFailsAtConstructionThoughNoSessionIsCreatedYet() {
        assertThatThrownBy(() -> new StepSessions(graph(), OnnxOptions.cuda(0), GraphSession.WeightBinding.INITIALIZERS))
                .isInstanceOf(org.sd3j.onnx.runtime.ProviderUnavailableException.class);
        OnnxOptions fallback = OnnxOptions.cuda(0).toBuilder().fallback(OnnxOptions.Fallback.CPU).build();
        try (StepSessions sessions = new StepSessions(graph(), fallback, GraphSession.WeightBinding.INITIALIZERS)) {
            assertThat(run(sessions.forShape(Map.of("batch", 2L)), 2)[0]).isEqualTo(2);
        }
    }

    @Test
    void closeClosesEverySessionOnceAndLaterUseFails() {
        StepSessions sessions = new StepSessions(graph(), OnnxOptions.cpu(), GraphSession.WeightBinding.INITIALIZERS);
        GraphSession one = sessions.forShape(Map.of("batch", 1L));
        sessions.close();
        sessions.close();
        assertThatThrownBy(() -> run(one, 1)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> run(sessions.general(), 1)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> sessions.forShape(Map.of("batch", 1L)))
                .isInstanceOf(IllegalStateException.class).hasMessage("step sessions are closed");
    }
}
