package org.sd3j.guidance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.sd3j.tensor.Tensor;

class SkipLayerGuidanceTest {

    private static List<Integer> activeSteps(SkipLayerGuidance slg, int steps) {
        return IntStream.range(0, steps).filter(i -> slg.isActive(i, steps)).boxed().toList();
    }

    @Nested
    class Defaults {
        @Test
        void diffusers() {
            SkipLayerGuidance slg = SkipLayerGuidance.diffusersDefaults();
            assertThat(slg.blocks()).containsExactly(7, 8, 9);
            assertThat(slg.scale()).isEqualTo(2.8);
            assertThat(slg.start()).isEqualTo(0.01);
            assertThat(slg.stop()).isEqualTo(0.2);
        }

        @Test
        void reference() {
            SkipLayerGuidance slg = SkipLayerGuidance.referenceDefaults();
            assertThat(slg.blocks()).containsExactly(7, 8, 9);
            assertThat(slg.scale()).isEqualTo(2.5);
            assertThat(slg.start()).isEqualTo(0.01);
            assertThat(slg.stop()).isEqualTo(0.2);
        }
    }

    @Nested
    class IsActive {
        @Test
        void defaultWindowAtTwentyEightStepsIsStepsOneToFive() {
            // diffusers: i > N*start and i < N*stop -> 0.28 < i < 5.6
            assertThat(activeSteps(SkipLayerGuidance.diffusersDefaults(), 28)).containsExactly(1, 2, 3, 4, 5);
        }

        @Test
        void boundsAreExclusive() {
            // N = 10, start 0.1, stop 0.5: 1 < i < 5
            SkipLayerGuidance slg = new SkipLayerGuidance(Set.of(1), 2.8, 0.1, 0.5);
            assertThat(activeSteps(slg, 10)).containsExactly(2, 3, 4);
        }

        @Test
        void fiftySteps() {
            // 0.5 < i < 10
            assertThat(activeSteps(SkipLayerGuidance.diffusersDefaults(), 50)).containsExactly(1, 2, 3, 4, 5, 6, 7,
                    8, 9);
        }

        @Test
        void emptyWindowIsNeverActive() {
            SkipLayerGuidance slg = new SkipLayerGuidance(Set.of(7), 2.8, 0.3, 0.3);
            assertThat(activeSteps(slg, 28)).isEmpty();
        }

        @Test
        void stepZeroIsNeverActive() {
            SkipLayerGuidance slg = new SkipLayerGuidance(Set.of(7), 2.8, 0.0, 1.0);
            assertThat(activeSteps(slg, 10)).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9);
        }
    }

    @Nested
    class Apply {
        @Test
        void addsScaledDifferenceInPlace() {
            SkipLayerGuidance slg = new SkipLayerGuidance(Set.of(7), 2.5, 0.01, 0.2);
            Tensor guided = Tensor.of(new float[] {1f, -2f, 0.5f}, 1, 3);
            Tensor positive = Tensor.of(new float[] {3f, 1f, 0f}, 1, 3);
            Tensor skipped = Tensor.of(new float[] {2f, 2f, -0.5f}, 1, 3);
            Tensor result = slg.apply(guided, positive, skipped);
            assertThat(result).isSameAs(guided);
            // guided + 2.5 * (positive - skipped)
            assertThat(guided.toArray()).containsExactly(1f + 2.5f, -2f - 2.5f, 0.5f + 1.25f);
            assertThat(positive.toArray()).containsExactly(3f, 1f, 0f);
            assertThat(skipped.toArray()).containsExactly(2f, 2f, -0.5f);
        }

        @Test
        void zeroScaleChangesNothing() {
            SkipLayerGuidance slg = new SkipLayerGuidance(Set.of(7), 0.0, 0.01, 0.2);
            Tensor guided = Tensor.of(new float[] {1f, 2f}, 2);
            slg.apply(guided, Tensor.of(new float[] {9f, 9f}, 2), Tensor.zeros(2));
            assertThat(guided.toArray()).containsExactly(1f, 2f);
        }

        @Test
        void acceptsAViewOfTheBatchedPrediction() {
            // The pipeline passes the positive half of the CFG batch as a slice.
            Tensor both = Tensor.of(new float[] {10f, 10f, 4f, 6f}, 2, 2);
            Tensor guided = Tensor.zeros(1, 2);
            SkipLayerGuidance.diffusersDefaults().apply(guided, both.slice(1, 2), Tensor.of(new float[] {3f, 5f}, 1,
                    2));
            assertThat(guided.get(0)).isEqualTo(2.8f * 1f);
            assertThat(guided.get(1)).isEqualTo(2.8f * 1f);
        }

        @Test
        void rejectsMismatchedPositive() {
            Tensor guided = Tensor.zeros(1, 4);
            Tensor positive = Tensor.zeros(1, 5);
            assertThatThrownBy(() -> SkipLayerGuidance.diffusersDefaults().apply(guided, positive, Tensor.zeros(1, 4)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("positive must be shaped like guided " + guided + ", found " + positive);
        }

        @Test
        void rejectsMismatchedSkipped() {
            Tensor guided = Tensor.zeros(1, 4);
            Tensor skipped = Tensor.zeros(2, 2);
            assertThatThrownBy(() -> SkipLayerGuidance.diffusersDefaults().apply(guided, Tensor.zeros(1, 4), skipped))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("skipped must be shaped like guided " + guided + ", found " + skipped);
        }
    }

    @Nested
    class Validation {
        @Test
        void rejectsNullBlocks() {
            assertThatThrownBy(() -> new SkipLayerGuidance(null, 2.8, 0.01, 0.2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("blocks must be non-null, found null");
        }

        @Test
        void rejectsEmptyBlocks() {
            assertThatThrownBy(() -> new SkipLayerGuidance(Set.of(), 2.8, 0.01, 0.2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("blocks must be non-empty, found []");
        }

        @Test
        void rejectsNegativeBlock() {
            assertThatThrownBy(() -> new SkipLayerGuidance(Set.of(-1), 2.8, 0.01, 0.2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("blocks must be indices >= 0, found [-1]");
        }

        @Test
        void rejectsNullBlock() {
            Set<Integer> blocks = new HashSet<>();
            blocks.add(null);
            assertThatThrownBy(() -> new SkipLayerGuidance(blocks, 2.8, 0.01, 0.2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("blocks must be indices >= 0, found [null]");
        }

        @Test
        void rejectsNonFiniteScale() {
            assertThatThrownBy(() -> new SkipLayerGuidance(Set.of(7), Double.NaN, 0.01, 0.2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("scale must be finite, found NaN");
        }

        @Test
        void rejectsStartAboveOne() {
            assertThatThrownBy(() -> new SkipLayerGuidance(Set.of(7), 2.8, 1.5, 2.0))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("start must be in [0, 1], found 1.5");
        }

        @Test
        void rejectsNegativeStart() {
            assertThatThrownBy(() -> new SkipLayerGuidance(Set.of(7), 2.8, -0.1, 0.2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("start must be in [0, 1], found -0.1");
        }

        @Test
        void rejectsNaNStart() {
            assertThatThrownBy(() -> new SkipLayerGuidance(Set.of(7), 2.8, Double.NaN, 0.2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("start must be in [0, 1], found NaN");
        }

        @Test
        void rejectsStopBeforeStart() {
            assertThatThrownBy(() -> new SkipLayerGuidance(Set.of(7), 2.8, 0.5, 0.2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("stop must be in [start, 1] = [0.5, 1], found 0.2");
        }

        @Test
        void rejectsStopAboveOne() {
            assertThatThrownBy(() -> new SkipLayerGuidance(Set.of(7), 2.8, 0.01, 1.2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("stop must be in [start, 1] = [0.01, 1], found 1.2");
        }
    }

    @Nested
    class Blocks {
        @Test
        void areSortedWhateverTheInputOrder() {
            List<Integer> given = new ArrayList<>(List.of(9, 7, 8, 12, 3));
            Set<Integer> blocks = new HashSet<>(given);
            SkipLayerGuidance slg = new SkipLayerGuidance(blocks, 2.8, 0.01, 0.2);
            assertThat(slg.blocks()).containsExactly(3, 7, 8, 9, 12);
            assertThat(slg.blocks()).hasToString("[3, 7, 8, 9, 12]");
        }

        @Test
        void areACopy() {
            Set<Integer> blocks = new HashSet<>(Set.of(7, 8));
            SkipLayerGuidance slg = new SkipLayerGuidance(blocks, 2.8, 0.01, 0.2);
            blocks.add(9);
            assertThat(slg.blocks()).containsExactly(7, 8);
        }

        @Test
        void areUnmodifiable() {
            Set<Integer> blocks = SkipLayerGuidance.diffusersDefaults().blocks();
            assertThatThrownBy(() -> blocks.add(1)).isInstanceOf(UnsupportedOperationException.class);
        }

        @Test
        void recordEqualityIgnoresTheSetImplementation() {
            assertThat(new SkipLayerGuidance(new HashSet<>(List.of(9, 8, 7)), 2.8, 0.01, 0.2))
                    .isEqualTo(SkipLayerGuidance.diffusersDefaults())
                    .hasSameHashCodeAs(SkipLayerGuidance.diffusersDefaults());
        }

        @Test
        void toStringIsDeterministic() {
            assertThat(SkipLayerGuidance.diffusersDefaults())
                    .hasToString("SkipLayerGuidance[blocks=[7, 8, 9], scale=2.8, start=0.01, stop=0.2]");
        }
    }
}
