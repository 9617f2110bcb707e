package org.sd3j.train.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.TensorAssertions;

class QkvFusionTest {
    private static final int D = 24;
    private static final int IN = 16;
    private final SplittableRandom random = new SplittableRandom(11);

    private LoraAdapter adapter(int rank, int out, double alpha) {
        return new LoraAdapter(TestModels.random(random, rank, IN), TestModels.random(random, out, rank), alpha);
    }

    @Test
    void splitSharesAAndTakesBsRowThirds() {
        LoraAdapter fused = adapter(4, 3 * D, 8);
        LoraAdapter[] parts = QkvFusion.split(fused);
        Tensor delta = fused.delta();
        for (int p = 0; p < 3; p++) {
            assertThat(parts[p].a()).isSameAs(fused.a());
            assertThat(parts[p].alpha()).isEqualTo(8);
            TensorAssertions.assertBitEqual(parts[p].delta(), delta.slice(p * D, (p + 1) * D).copy(), "part " + p);
        }
        LoraAdapter back = QkvFusion.fuse(parts, D);
        assertThat(back.rank()).isEqualTo(4);
        TensorAssertions.assertBitEqual(back.a(), fused.a(), "A");
        TensorAssertions.assertBitEqual(back.b(), fused.b(), "B");
        assertThat(back.alpha()).isEqualTo(8);
    }

    @Test
    void independentPartsFuseToABlockDiagonalAdapterAndSplitBack() {
        LoraAdapter[] parts = {adapter(2, D, 2), adapter(3, D, 3), adapter(4, D, 4)};
        LoraAdapter fused = QkvFusion.fuse(parts, D);
        assertThat(fused.rank()).isEqualTo(9);
        assertThat(fused.scale()).isEqualTo(1.0);
        Tensor delta = fused.delta();
        for (int p = 0; p < 3; p++) {
            TensorAssertions.assertBitEqual(delta.slice(p * D, (p + 1) * D).copy(), parts[p].delta(), "rows " + p);
        }
        LoraAdapter[] again = QkvFusion.split(fused);
        for (int p = 0; p < 3; p++) {
            TensorAssertions.assertBitEqual(again[p].a(), parts[p].a(), "A " + p);
            TensorAssertions.assertBitEqual(again[p].b(), parts[p].b(), "B " + p);
            assertThat(again[p].alpha()).isEqualTo(parts[p].alpha());
        }
    }

    @Test
    void partsWithDifferentScalesFoldTheirScaleIntoB() {
        LoraAdapter[] parts = {adapter(4, D, 1), adapter(4, D, 8), adapter(2, D, 2)};
        LoraAdapter fused = QkvFusion.fuse(parts, D);
        assertThat(fused.scale()).isEqualTo(1.0);
        Tensor delta = fused.delta();
        for (int p = 0; p < 3; p++) {
            Tensor expected = parts[p].delta();
            Tensor actual = delta.slice(p * D, (p + 1) * D).copy();
            for (int i = 0; i < expected.size(); i++) {
                float e = expected.get(i);
                assertThat(actual.get(i)).isCloseTo(e, within(1e-6f * Math.max(1, Math.abs(e))));
            }
        }
    }

    @Test
    void aMissingPartIsZeroRowsAndStaysMissing() {
        LoraAdapter[] parts = {adapter(4, D, 4), null, adapter(4, D, 4)};
        LoraAdapter fused = QkvFusion.fuse(parts, D);
        assertThat(fused.rank()).isEqualTo(8);
        assertThat(fused.delta().slice(D, 2 * D).toArray()).containsOnly(0f);
        LoraAdapter[] again = QkvFusion.split(fused);
        assertThat(again[1]).isNull();
        TensorAssertions.assertBitEqual(again[2].b(), parts[2].b(), "v B");
    }

    @Test
    void anUntrainedAdapterSplitsIntoThreeFullParts() {
        LoraAdapter fused = new LoraAdapter(TestModels.random(random, 4, IN), Tensor.zeros(3 * D, 4), 4);
        LoraAdapter[] parts = QkvFusion.split(fused);
        for (LoraAdapter p : parts) {
            assertThat(p).isNotNull();
            assertThat(p.rank()).isEqualTo(4);
        }
    }
}
