package org.sd3j.train.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.TensorAssertions;

class AdamWTest {

    static Map<String, Tensor> randomTensors(long seed, String... namesAndShapes) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String spec : namesAndShapes) {
            String[] parts = spec.split(":");
            String[] dims = parts[1].split("x");
            int[] shape = new int[dims.length];
            for (int i = 0; i < dims.length; i++) {
                shape[i] = Integer.parseInt(dims[i]);
            }
            Tensor t = Tensor.zeros(shape);
            for (int i = 0; i < t.size(); i++) {
                t.set(i, (float) r.nextGaussian());
            }
            out.put(parts[0], t);
        }
        return out;
    }

    static Map<String, Tensor> copy(Map<String, Tensor> m) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        m.forEach((k, t) -> out.put(k, t.copy()));
        return out;
    }

    @Nested
    class Steps {
        @Test
        void firstStepMovesEachElementByAboutTheLearningRate() {
            // With zero moments, step 1 is p -= lr * g / (|g| + eps): a sign step of size lr (weight decay 0).
            Map<String, Tensor> p = Map.of("w", Tensor.of(new float[] {1, 1, 1}, 3));
            AdamW adamW = AdamW.create(p, AdamWSettings.defaults().withWeightDecay(0).withLearningRate(0.01));
            adamW.step(Map.of("w", Tensor.of(new float[] {5, -0.5f, 0}, 3)));
            assertThat(p.get("w").toArray()).containsExactly(new float[] {0.99f, 1.01f, 1f}, within(1e-7f));
        }

        @Test
        void decoupledWeightDecayShrinksParametersWithZeroGradients() {
            Map<String, Tensor> p = Map.of("w", Tensor.of(new float[] {2, -4}, 2));
            AdamW adamW = AdamW.create(p, AdamWSettings.defaults().withLearningRate(0.1).withWeightDecay(0.5));
            adamW.step(Map.of("w", Tensor.zeros(2)));
            // p * (1 - lr * wd) = p * 0.95; the Adam term is 0/(0 + eps) = 0.
            assertThat(p.get("w").toArray()).containsExactly(new float[] {1.9f, -3.8f}, within(1e-7f));
        }

        @Test
        void zeroLearningRateChangesNothingButTheMoments() {
            Map<String, Tensor> p = randomTensors(1, "a:3x4");
            Map<String, Tensor> before = copy(p);
            AdamW adamW = AdamW.create(p, AdamWSettings.defaults());
            adamW.step(randomTensors(2, "a:3x4"), 0.0);
            assertThat(p.get("a").toArray()).containsExactly(before.get("a").toArray());
            assertThat(adamW.state().tensors().get("exp_avg/a").allFinite()).isTrue();
            assertThat(adamW.stepCount()).isEqualTo(1);
        }

        @Test
        void largeTensorsGetTheScalarFormulaElementByElement() {
            // Several blocks per tensor, shared out over the cores: every element must still get exactly the
            // class comment's formula (vectorised FMA, square root and division round as scalar ones do).
            Map<String, Tensor> p = randomTensors(11, "a:300x100", "b:7", "c:8193");
            Map<String, Tensor> expected = copy(p);
            AdamWSettings settings = AdamWSettings.defaults().withWeightDecay(0.01);
            AdamW adamW = AdamW.create(p, settings);
            Map<String, float[]> m = new LinkedHashMap<>();
            Map<String, float[]> v = new LinkedHashMap<>();
            expected.forEach((k, t) -> {
                m.put(k, new float[t.size()]);
                v.put(k, new float[t.size()]);
            });
            for (int step = 1; step <= 3; step++) {
                Map<String, Tensor> g = randomTensors(20 + step, "a:300x100", "b:7", "c:8193");
                double lr = 1e-3 * step;
                float scale = step == 2 ? 0.37f : 1.0f;
                adamW.step(g, lr, scale);
                float decay = (float) (1 - lr * 0.01);
                float negStep = (float) -(lr / (1 - Math.pow(0.9, step)));
                float bc2 = (float) Math.sqrt(1 - Math.pow(0.999, step));
                for (String k : expected.keySet()) {
                    Tensor e = expected.get(k);
                    for (int i = 0; i < e.size(); i++) {
                        float gi = g.get(k).get(i) * scale;
                        float mi = Math.fma(gi, (float) (1 - 0.9), m.get(k)[i] * 0.9f);
                        float vi = Math.fma((float) (1 - 0.999) * gi, gi, v.get(k)[i] * 0.999f);
                        m.get(k)[i] = mi;
                        v.get(k)[i] = vi;
                        e.set(i, e.get(i) * decay + negStep * mi / ((float) Math.sqrt(vi) / bc2 + (float) settings.epsilon()));
                    }
                    assertThat(p.get(k).toArray()).as(k + " after step " + step).containsExactly(e.toArray());
                }
            }
        }

        @Test
        void gradientScaleIsClippingWithoutAPass() {
            Map<String, Tensor> p1 = randomTensors(5, "a:200x50", "b:9");
            Map<String, Tensor> p2 = copy(p1);
            Map<String, Tensor> g = randomTensors(6, "a:200x50", "b:9");
            Map<String, Tensor> gCopy = copy(g);
            GradientClipping clipping = GradientClipping.toMaxNorm(0.5);
            AdamW a1 = AdamW.create(p1, AdamWSettings.defaults());
            AdamW a2 = AdamW.create(p2, AdamWSettings.defaults());
            a2.step(g, 1e-3, clipping.coefficient(GradientClipping.globalNorm(g)));
            clipping.clip(gCopy);
            a1.step(gCopy, 1e-3);
            assertThat(p2.get("a").toArray()).containsExactly(p1.get("a").toArray());
            assertThat(p2.get("b").toArray()).containsExactly(p1.get("b").toArray());
            assertThat(g.get("a").toArray()).as("gradients only read").containsExactly(
                    randomTensors(6, "a:200x50").get("a").toArray());
            assertThatThrownBy(() -> a2.step(g, 1e-3, 0f))
                    .hasMessage("gradientScale must be finite and > 0, found 0.0");
        }

        @Test
        void stepAllocatesNothingOnTheHeap() {
            Map<String, Tensor> p = randomTensors(3, "a:64x64", "b:64");
            Map<String, Tensor> g = randomTensors(4, "a:64x64", "b:64");
            AdamW adamW = AdamW.create(p, AdamWSettings.defaults());
            for (int i = 0; i < 200; i++) {
                adamW.step(g, 1e-4); // warm up: compile the loop
            }
            com.sun.management.ThreadMXBean threads =
                    (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long tid = Thread.currentThread().getId();
            long before = threads.getThreadAllocatedBytes(tid);
            for (int i = 0; i < 100; i++) {
                adamW.step(g, 1e-4);
            }
            long perStep = (threads.getThreadAllocatedBytes(tid) - before) / 100;
            // Views of the gradients and the name check cost a few small objects; nothing scales with the
            // parameters (64*64 floats would be 16 KB).
            assertThat(perStep).as("bytes allocated per step").isLessThan(1024);
        }
    }

    @Nested
    class State {
        @Test
        void exportsTorchNamedMomentsAsASnapshotThatEachCallRefills() {
            Map<String, Tensor> p = randomTensors(1, "x:2x3", "y:4");
            AdamW adamW = AdamW.create(p, AdamWSettings.defaults());
            StateTensors s = adamW.state();
            assertThat(s.tensors().keySet()).containsExactly("exp_avg/x", "exp_avg/y", "exp_avg_sq/x", "exp_avg_sq/y");
            assertThat(s.step()).isZero();
            adamW.step(randomTensors(2, "x:2x3", "y:4"));
            assertThat(s.tensors().get("exp_avg/x").toArray()).containsOnly(0f); // a snapshot, not a live view

            StateTensors after = adamW.state();
            assertThat(after.step()).isEqualTo(1);
            assertThat(after.tensors().get("exp_avg/x")).isSameAs(s.tensors().get("exp_avg/x")); // refilled, not new
            assertThat(after.tensors().get("exp_avg/x").allFinite()).isTrue();
            assertThat(after.tensors().get("exp_avg/x").toArray()).isNotEqualTo(new float[6]);
            assertThat(after.tensors().get("exp_avg_sq/y").toArray()).doesNotContain(0f);
        }

        @Test
        void momentsOfTensorsSpanningSeveralBlocksFollowTheirElements() {
            // 20000 elements: blocks of 8192, 8192 and 3616 of one tensor, against the same values as two tensors
            // blocked differently; element-wise updates must agree bit for bit, state included, over a resume.
            Map<String, Tensor> whole = randomTensors(3, "w:20000");
            Map<String, Tensor> halves = new java.util.LinkedHashMap<>();
            halves.put("a", Tensor.of(java.util.Arrays.copyOfRange(whole.get("w").toArray(), 0, 10000), 10000));
            halves.put("b", Tensor.of(java.util.Arrays.copyOfRange(whole.get("w").toArray(), 10000, 20000), 10000));
            AdamW one = AdamW.create(whole, AdamWSettings.defaults().withLearningRate(1e-2));
            AdamW two = AdamW.create(halves, AdamWSettings.defaults().withLearningRate(1e-2));
            for (int i = 0; i < 4; i++) {
                if (i == 2) {
                    one.loadState(one.state().copy()); // a round trip through the exported state
                }
                float[] g = randomTensors(20 + i, "g:20000").get("g").toArray();
                one.step(Map.of("w", Tensor.of(g, 20000)));
                two.step(Map.of("a", Tensor.of(java.util.Arrays.copyOfRange(g, 0, 10000), 10000),
                        "b", Tensor.of(java.util.Arrays.copyOfRange(g, 10000, 20000), 10000)));
            }
            float[] joined = new float[20000];
            System.arraycopy(halves.get("a").toArray(), 0, joined, 0, 10000);
            System.arraycopy(halves.get("b").toArray(), 0, joined, 10000, 10000);
            assertThat(whole.get("w").toArray()).containsExactly(joined);
            float[] v = one.state().tensors().get("exp_avg_sq/w").toArray();
            assertThat(java.util.Arrays.copyOfRange(v, 10000, 20000))
                    .containsExactly(two.state().tensors().get("exp_avg_sq/b").toArray());
        }

        @Test
        void resumingFromExportedStateContinuesExactly() {
            Map<String, Tensor> init = randomTensors(5, "x:5x3", "y:7");
            Map<String, Tensor> continuous = copy(init);
            AdamW a = AdamW.create(continuous, AdamWSettings.defaults().withLearningRate(1e-2));
            Map<String, Tensor> resumed = copy(init);
            AdamW b = AdamW.create(resumed, AdamWSettings.defaults().withLearningRate(1e-2));
            for (int i = 0; i < 3; i++) {
                Map<String, Tensor> g = randomTensors(10 + i, "x:5x3", "y:7");
                a.step(g);
                b.step(g);
            }
            StateTensors saved = b.state().copy();
            Map<String, Tensor> savedParams = copy(resumed);

            Map<String, Tensor> fresh = copy(savedParams);
            AdamW c = AdamW.create(fresh, AdamWSettings.defaults().withLearningRate(1e-2));
            c.loadState(saved);
            assertThat(c.stepCount()).isEqualTo(3);
            for (int i = 3; i < 6; i++) {
                Map<String, Tensor> g = randomTensors(10 + i, "x:5x3", "y:7");
                a.step(g);
                c.step(g);
            }
            for (String k : init.keySet()) {
                TensorAssertions.assertBitEqual(fresh.get(k), continuous.get(k), k);
            }
        }

        @Test
        void loadStateRejectsOtherNamesAndLeavesStateAlone() {
            AdamW adamW = AdamW.create(randomTensors(1, "x:2"), AdamWSettings.defaults());
            StateTensors wrong = new StateTensors(4, Map.of("exp_avg/z", Tensor.zeros(2), "exp_avg_sq/x",
                    Tensor.zeros(2)));
            assertThatThrownBy(() -> adamW.loadState(wrong))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("state.tensors() must have exactly the names [exp_avg/x, exp_avg_sq/x]")
                    .hasMessageContaining("missing [exp_avg/x]")
                    .hasMessageContaining("unexpected [exp_avg/z]");
            assertThat(adamW.stepCount()).isZero();
        }

        @Test
        void loadStateRejectsOtherShapes() {
            AdamW adamW = AdamW.create(randomTensors(1, "x:2x3"), AdamWSettings.defaults());
            StateTensors wrong = new StateTensors(1, Map.of("exp_avg/x", Tensor.zeros(3, 2), "exp_avg_sq/x",
                    Tensor.zeros(2, 3)));
            assertThatThrownBy(() -> adamW.loadState(wrong))
                    .hasMessage("state.tensors()['exp_avg/x'] must have shape [2, 3], found [3, 2]");
        }
    }

    @Nested
    class Validation {
        @Test
        void gradientsMustCoverEveryParameterAndNothingIsUpdatedOtherwise() {
            Map<String, Tensor> p = randomTensors(1, "x:2", "y:3");
            Map<String, Tensor> before = copy(p);
            AdamW adamW = AdamW.create(p, AdamWSettings.defaults());
            assertThatThrownBy(() -> adamW.step(Map.of("x", Tensor.zeros(2))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("gradients must have exactly the names [x, y], found missing [y] and unexpected []");
            assertThat(p.get("x").toArray()).containsExactly(before.get("x").toArray());
            assertThat(adamW.stepCount()).isZero();
        }

        @Test
        void gradientShapesMustMatch() {
            AdamW adamW = AdamW.create(randomTensors(1, "x:2x3"), AdamWSettings.defaults());
            assertThatThrownBy(() -> adamW.step(Map.of("x", Tensor.zeros(6))))
                    .hasMessage("gradients['x'] must have shape [2, 3], found [6]");
        }

        @Test
        void learningRateMustBeFiniteAndNonNegative() {
            AdamW adamW = AdamW.create(randomTensors(1, "x:2"), AdamWSettings.defaults());
            assertThatThrownBy(() -> adamW.step(randomTensors(2, "x:2"), -1e-4))
                    .hasMessage("learningRate must be finite and >= 0, found -1.0E-4");
        }

        @Test
        void needsParameters() {
            assertThatThrownBy(() -> AdamW.create(Map.of(), AdamWSettings.defaults()))
                    .hasMessage("parameters must be non-empty, found 0 tensors");
        }

        @Test
        void settingsAreChecked() {
            assertThatThrownBy(() -> AdamWSettings.defaults().withBetas(0.9, 1.0))
                    .hasMessage("beta2 must be in [0, 1), found 1.0");
            assertThatThrownBy(() -> AdamWSettings.defaults().withEpsilon(Double.NaN))
                    .hasMessage("epsilon must be finite and >= 0, found NaN");
            assertThatThrownBy(() -> AdamWSettings.defaults().withWeightDecay(-1))
                    .hasMessage("weightDecay must be finite and >= 0, found -1.0");
        }

        @Test
        void defaultsAreSpecSection7() {
            assertThat(AdamWSettings.defaults()).isEqualTo(new AdamWSettings(1e-4, 0.9, 0.999, 1e-8, 1e-4));
        }
    }
}
