package org.sd3j.train.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.sd3j.tensor.Tensor;

class GradientAccumulatorTest {
    private final Map<String, Tensor> params = Map.of("w", Tensor.zeros(2, 2));

    private static Map<String, Tensor> grad(float... v) {
        return Map.of("w", Tensor.of(v, 2, 2));
    }

    @Test
    void averagesTheMicroBatchGradients() {
        GradientAccumulator acc = GradientAccumulator.create(params);
        acc.add(grad(1, 2, 3, 4));
        acc.add(grad(3, 2, 1, 0));
        acc.add(grad(2, 2, 2, 2));
        assertThat(acc.count()).isEqualTo(3);
        assertThat(acc.average().get("w").toArray()).containsExactly(2, 2, 2, 2);
        // A second call returns the same averages rather than dividing again.
        assertThat(acc.average().get("w").toArray()).containsExactly(2, 2, 2, 2);
    }

    @Test
    void resetStartsTheNextStepWithTheSameBuffers() {
        GradientAccumulator acc = GradientAccumulator.create(params);
        acc.add(grad(8, 8, 8, 8));
        Tensor buffer = acc.average().get("w");
        acc.reset();
        assertThat(acc.count()).isZero();
        acc.add(grad(1, 1, 1, 1));
        assertThat(acc.average().get("w")).isSameAs(buffer);
        assertThat(buffer.toArray()).containsExactly(1, 1, 1, 1);
    }

    @Test
    void doesNotKeepOrChangeTheGivenGradients() {
        GradientAccumulator acc = GradientAccumulator.create(params);
        Map<String, Tensor> g = grad(2, 4, 6, 8);
        acc.add(g);
        acc.add(g);
        acc.average();
        assertThat(g.get("w").toArray()).containsExactly(2, 4, 6, 8);
    }

    @Test
    void misuseIsReported() {
        GradientAccumulator acc = GradientAccumulator.create(params);
        assertThatThrownBy(acc::average)
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("average() needs at least one add(), found 0 micro-batches");
        acc.add(grad(1, 1, 1, 1));
        acc.average();
        assertThatThrownBy(() -> acc.add(grad(1, 1, 1, 1)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("add after average(): call reset() to start the next step");
        acc.reset();
        assertThatThrownBy(() -> acc.add(Map.of("w", Tensor.zeros(4))))
                .hasMessage("gradients['w'] must have shape [2, 2], found [4]");
    }
}
