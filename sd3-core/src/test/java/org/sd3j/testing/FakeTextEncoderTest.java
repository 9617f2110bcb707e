package org.sd3j.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.tensor.Tensor;

class FakeTextEncoderTest {
    private final FakeTextEncoder clip = FakeTextEncoder.of(EncoderRole.CLIP_L, 5, 8, 6);
    private final FakeTextEncoder t5 = FakeTextEncoder.of(EncoderRole.T5, 7, 16, 0);

    @Test
    void producesTheConfiguredShapes() {
        EncodedText out = clip.encode(List.of("a", "b", "c"));

        assertThat(out.tokens().shape()).containsExactly(3, 5, 8);
        assertThat(out.pooled().shape()).containsExactly(3, 6);
    }

    @Test
    void aSequenceRoleHasNoPooledVector() {
        assertThat(t5.encode(List.of("a")).pooledVector()).isEmpty();
    }

    @Test
    void isDeterministicAcrossInstances() {
        Tensor first = clip.encode(List.of("a red fox")).tokens();
        Tensor second = FakeTextEncoder.of(EncoderRole.CLIP_L, 5, 8, 6).encode(List.of("a red fox")).tokens();

        assertThat(first.toArray()).containsExactly(second.toArray());
    }

    @Test
    void differentPromptsGiveDifferentFeatures() {
        Tensor fox = clip.tokensFor("a red fox");
        Tensor cat = clip.tokensFor("a red cat");

        assertThat(fox.maxAbsDiff(cat)).isGreaterThan(0.1);
    }

    @Test
    void differentRolesGiveDifferentFeatures() {
        Tensor l = FakeTextEncoder.of(EncoderRole.CLIP_L, 2, 4, 4).tokensFor("x");
        Tensor g = FakeTextEncoder.of(EncoderRole.CLIP_G, 2, 4, 4).tokensFor("x");

        assertThat(l.maxAbsDiff(g)).isGreaterThan(0.1);
    }

    @Test
    void valuesAreNeverZeroAndWithinOne() {
        float[] values = t5.tokensFor("").toArray();

        for (float v : values) {
            assertThat(Math.abs(v)).isBetween(0.05f, 1f);
        }
    }

    @Test
    void featuresVaryAcrossTokensAndHaveBothSigns() {
        float[] values = t5.tokensFor("a").toArray();

        assertThat(values).doesNotHaveDuplicates();
        long negatives = 0;
        for (float v : values) {
            negatives += v < 0 ? 1 : 0;
        }
        assertThat(negatives).isBetween(values.length / 4L, 3L * values.length / 4);
    }

    @Test
    void batchItemsAreEncodedIndependently() {
        EncodedText out = clip.encode(List.of("a", "b"));

        assertThat(out.tokens().slice(1, 2).toArray()).containsExactly(clip.tokensFor("b").toArray());
        assertThat(out.pooled().slice(0, 1).toArray()).containsExactly(clip.pooledFor("a").toArray());
    }

    @Test
    void pooledDiffersFromTheTokens() {
        assertThat(clip.pooledFor("a").get(0)).isNotEqualTo(clip.tokensFor("a").get(0));
    }

    @Test
    void recordsThePromptsInOrder() {
        clip.encode(List.of("a", "b"));
        clip.encode(List.of(""));

        assertThat(clip.prompts()).containsExactly("a", "b", "");
        assertThat(clip.calls()).containsExactly(List.of("a", "b"), List.of(""));
        assertThat(clip.callCount()).isEqualTo(2);
    }

    @Test
    void predictionsAreNotRecorded() {
        clip.tokensFor("a");
        clip.pooledFor("a");

        assertThat(clip.callCount()).isZero();
    }

    @Test
    void resetForgetsTheCalls() {
        clip.encode(List.of("a"));

        clip.reset();

        assertThat(clip.prompts()).isEmpty();
    }

    @Test
    void sd3ShapesAreTheSpecs() {
        assertThat(FakeTextEncoder.clipL().features()).isEqualTo(768);
        assertThat(FakeTextEncoder.clipG().pooled()).isEqualTo(1280);
        assertThat(FakeTextEncoder.t5().tokens()).isEqualTo(256);
        assertThat(FakeTextEncoder.t5().features()).isEqualTo(4096);
    }

    @Test
    void forLayoutMakesOneEncoderPerSlot() {
        FakeTextEncoder[] encoders = FakeTextEncoder.forLayout(ConditioningLayout.sd3());

        assertThat(encoders).extracting(FakeTextEncoder::role)
                .containsExactly(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5);
        assertThat(encoders[1].features()).isEqualTo(1280);
    }

    @Test
    void pooledForASequenceRoleIsAnError() {
        assertThatThrownBy(() -> t5.pooledFor("a"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("The sequence role t5xxl has no pooled vector");
    }

    @Test
    void aClipRoleNeedsAPooledWidth() {
        assertThatThrownBy(() -> FakeTextEncoder.of(EncoderRole.CLIP_G, 5, 8, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("pooled must be >= 1 for the CLIP role clip_g, found 0");
    }

    @Test
    void aSequenceRoleTakesNoPooledWidth() {
        assertThatThrownBy(() -> FakeTextEncoder.of(EncoderRole.T5, 5, 8, 4))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("pooled must be 0 for the sequence role t5xxl, found 4");
    }

    @Test
    void aNullPromptIsRejected() {
        assertThatThrownBy(() -> clip.encode(java.util.Arrays.asList("a", null)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("prompts[1] must be non-null, found null");
    }

    @Test
    void anEmptyBatchIsRejected() {
        assertThatThrownBy(() -> clip.encode(List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("prompts must be non-empty, found []");
    }
}
