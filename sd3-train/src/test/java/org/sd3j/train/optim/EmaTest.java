package org.sd3j.train.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.TensorAssertions;

class EmaTest {

    @Test
    void startsAtACopyAndMovesTowardsTheWeights() {
        Tensor w = Tensor.of(new float[] {1, -2}, 2);
        Map<String, Tensor> p = Map.of("w", w);
        Ema ema = Ema.create(p, 0.9);
        assertThat(ema.weights().get("w")).isNotSameAs(w);
        w.fill(11f);
        ema.update(p);
        // shadow -= 0.1 * (shadow - w): 1 -> 2, -2 -> -0.7
        assertThat(ema.weights().get("w").toArray()).containsExactly(new float[] {2f, -0.7f}, within(1e-6f));
        ema.update(p);
        assertThat(ema.weights().get("w").get(0)).isCloseTo(2.9f, within(1e-6f));
        assertThat(ema.updateCount()).isEqualTo(2);
    }

    @Test
    void decayOneKeepsTheStartAndZeroFollowsExactly() {
        Map<String, Tensor> p = Map.of("w", Tensor.of(new float[] {1, 2}, 2));
        Ema frozen = Ema.create(p, 1.0);
        Ema follower = Ema.create(p, 0.0);
        p.get("w").fill(5f);
        frozen.update(p);
        follower.update(p);
        assertThat(frozen.weights().get("w").toArray()).containsExactly(1, 2);
        assertThat(follower.weights().get("w").toArray()).containsExactly(5, 5);
    }

    @Test
    void stateRoundTripsAndCopyToWritesTheAverage() {
        Map<String, Tensor> p = AdamWTest.randomTensors(3, "a:3x2", "b:5");
        Ema ema = Ema.create(p, 0.99);
        for (int i = 0; i < 4; i++) {
            AdamWTest.randomTensors(10 + i, "a:3x2", "b:5").forEach((k, t) -> p.get(k).copyFrom(t));
            ema.update(p);
        }
        StateTensors saved = ema.state().copy();
        assertThat(saved.step()).isEqualTo(4);
        assertThat(saved.tensors().keySet()).containsExactly("a", "b");

        Ema restored = Ema.create(p, 0.99);
        restored.loadState(saved);
        assertThat(restored.updateCount()).isEqualTo(4);
        Map<String, Tensor> target = AdamWTest.copy(p);
        restored.copyTo(target);
        for (String k : p.keySet()) {
            TensorAssertions.assertBitEqual(target.get(k), ema.weights().get(k), k);
        }
    }

    @Test
    void argumentsAreChecked() {
        Map<String, Tensor> p = Map.of("w", Tensor.zeros(2));
        assertThatThrownBy(() -> Ema.create(p, 1.5)).hasMessage("decay must be in [0, 1], found 1.5");
        Ema ema = Ema.create(p, 0.5);
        assertThatThrownBy(() -> ema.update(Map.of("v", Tensor.zeros(2))))
                .hasMessage("parameters must have exactly the names [w], found missing [w] and unexpected [v]");
    }
}
