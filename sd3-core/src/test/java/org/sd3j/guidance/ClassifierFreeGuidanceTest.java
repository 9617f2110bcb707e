package org.sd3j.guidance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sd3j.tensor.Tensor;

class ClassifierFreeGuidanceTest {

    @Nested
    class IsEnabled {
        @ParameterizedTest
        @ValueSource(doubles = {1.0001, 1.5, 7.0, 100})
        void onAboveOne(double scale) {
            assertThat(ClassifierFreeGuidance.isEnabled(scale)).isTrue();
        }

        @ParameterizedTest
        @ValueSource(doubles = {1.0, 0.9999, 0.5, 0.0, -2.0, Double.NaN})
        void offAtOrBelowOne(double scale) {
            assertThat(ClassifierFreeGuidance.isEnabled(scale)).isFalse();
        }
    }

    @Nested
    class CombineBatched {
        @Test
        void combinesNegativeAndPositiveHalves() {
            // B = 2 items of 3 values; batch [neg0, neg1, pos0, pos1]; v = neg + g (pos - neg), g = 7.
            Tensor batched = Tensor.of(new float[] {
                1f, 2f, 3f,      // neg item 0
                0f, -1f, 0.5f,   // neg item 1
                2f, 2f, 1f,      // pos item 0
                0.5f, -1f, 1.5f, // pos item 1
            }, 4, 3);
            Tensor out = Tensor.zeros(2, 3);
            Tensor result = ClassifierFreeGuidance.combine(batched, 7f, out);
            assertThat(result).isSameAs(out);
            assertThat(out.toArray()).containsExactly(
                    1f + 7f * 1f, 2f, 3f + 7f * -2f,
                    0f + 7f * 0.5f, -1f, 0.5f + 7f * 1f);
        }

        @Test
        void isFloat32LikeDiffusers() {
            float neg = 0.1f;
            float pos = 0.30000001f;
            float g = 4.5f;
            Tensor out = ClassifierFreeGuidance.combine(Tensor.of(new float[] {neg, pos}, 2, 1), g,
                    Tensor.zeros(1, 1));
            assertThat(out.get(0)).isEqualTo(neg + g * (pos - neg));
        }

        @Test
        void scaleOneGivesThePositive() {
            Tensor out = ClassifierFreeGuidance.combine(Tensor.of(new float[] {5f, -3f, 1.25f, 2f}, 2, 2), 1f,
                    Tensor.zeros(1, 2));
            assertThat(out.toArray()).containsExactly(1.25f, 2f);
        }

        @Test
        void scaleZeroGivesTheNegative() {
            Tensor out = ClassifierFreeGuidance.combine(Tensor.of(new float[] {5f, -3f, 1.25f, 2f}, 2, 2), 0f,
                    Tensor.zeros(1, 2));
            assertThat(out.toArray()).containsExactly(5f, -3f);
        }

        @Test
        void worksOnLatentShapedTensors() {
            Tensor batched = Tensor.zeros(4, 16, 2, 2);
            for (int i = 0; i < batched.size(); i++) {
                batched.set(i, i < batched.size() / 2 ? 1f : 3f);
            }
            Tensor out = ClassifierFreeGuidance.combine(batched, 2f, Tensor.zeros(2, 16, 2, 2));
            for (int i = 0; i < out.size(); i++) {
                assertThat(out.get(i)).isEqualTo(5f);
            }
        }

        @Test
        void rejectsWrongBatch() {
            Tensor batched = Tensor.zeros(3, 4);
            Tensor out = Tensor.zeros(1, 4);
            assertThatThrownBy(() -> ClassifierFreeGuidance.combine(batched, 7f, out))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("batched must be [2B, ...] for out " + out + ", found " + batched);
        }

        @Test
        void rejectsSameSizeButDifferentShape() {
            // 8 elements and batch 2 = 2*1, but the items are [2, 2], not [4].
            Tensor batched = Tensor.zeros(2, 2, 2);
            Tensor out = Tensor.zeros(1, 4);
            assertThatThrownBy(() -> ClassifierFreeGuidance.combine(batched, 7f, out))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("batched must be [2B, ...] for out " + out + ", found " + batched);
        }

        @Test
        void rejectsNulls() {
            assertThatThrownBy(() -> ClassifierFreeGuidance.combine(null, 7f, Tensor.zeros(1)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("batched must be non-null, found null");
            assertThatThrownBy(() -> ClassifierFreeGuidance.combine(Tensor.zeros(2), 7f, null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("out must be non-null, found null");
        }
    }

    @Nested
    class CombineSeparate {
        @Test
        void combinesIntoANewTensor() {
            Tensor neg = Tensor.of(new float[] {1f, 2f, 3f, 4f}, 2, 2);
            Tensor pos = Tensor.of(new float[] {2f, 2f, 1f, 5f}, 2, 2);
            Tensor out = ClassifierFreeGuidance.combine(neg, pos, 3f);
            assertThat(out).isNotSameAs(neg).isNotSameAs(pos);
            assertThat(out.shape()).containsExactly(2, 2);
            assertThat(out.toArray()).containsExactly(4f, 2f, -3f, 7f);
            assertThat(neg.toArray()).containsExactly(1f, 2f, 3f, 4f);
            assertThat(pos.toArray()).containsExactly(2f, 2f, 1f, 5f);
        }

        @Test
        void agreesWithTheBatchedForm() {
            Tensor neg = Tensor.of(new float[] {0.3f, -1.7f, 2.2f}, 1, 3);
            Tensor pos = Tensor.of(new float[] {0.9f, 0.4f, -0.6f}, 1, 3);
            Tensor separate = ClassifierFreeGuidance.combine(neg, pos, 7f);
            Tensor batched = ClassifierFreeGuidance.combine(Tensor.concat(0, neg, pos), 7f, Tensor.zeros(1, 3));
            assertThat(separate.toArray()).containsExactly(batched.toArray());
        }

        @Test
        void rejectsShapeMismatch() {
            Tensor neg = Tensor.zeros(1, 4);
            Tensor pos = Tensor.zeros(2, 2);
            assertThatThrownBy(() -> ClassifierFreeGuidance.combine(neg, pos, 7f))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("positive must be shaped like negative " + neg + ", found " + pos);
        }

        @Test
        void rejectsNulls() {
            assertThatThrownBy(() -> ClassifierFreeGuidance.combine(null, Tensor.zeros(1), 7f))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("negative must be non-null, found null");
            assertThatThrownBy(() -> ClassifierFreeGuidance.combine(Tensor.zeros(1), null, 7f))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("positive must be non-null, found null");
        }
    }
}
