package org.sd3j.conditioning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.testing.FakeTextEncoder;

/** {@link PromptEncoder#assemble}: conditioning from outputs encoded earlier (training's cached outputs). */
class PromptEncoderAssembleTest {
    private static final ConditioningLayout SMALL = ConditioningLayout.builder()
            .slot(EncoderRole.CLIP_L, 3, 2, 2)
            .slot(EncoderRole.CLIP_G, 3, 3, 4)
            .slot(EncoderRole.T5, 4, 6, 0)
            .contextDim(6)
            .build();

    @Test
    void equalsEncodeOnTheSameOutputs() {
        FakeTextEncoder[] encoders = FakeTextEncoder.forLayout(SMALL);
        List<String> prompts = List.of("a fox", "");
        Conditioning expected = new PromptEncoder(SMALL, List.of(encoders)).encode(prompts);

        Conditioning assembled = PromptEncoder.assemble(SMALL, 2, Map.of(
                EncoderRole.CLIP_L, encoders[0].encode(prompts),
                EncoderRole.CLIP_G, encoders[1].encode(prompts),
                EncoderRole.T5, encoders[2].encode(prompts)));

        assertThat(assembled.context().maxAbsDiff(expected.context())).isZero();
        assertThat(assembled.pooled().maxAbsDiff(expected.pooled())).isZero();
    }

    @Test
    void missingRolesAreZerosLikeMissingEncoders() {
        FakeTextEncoder clipG = FakeTextEncoder.forSlot(SMALL.slot(EncoderRole.CLIP_G).orElseThrow());
        Conditioning expected = new PromptEncoder(SMALL, List.of(clipG)).encode(List.of("p"));

        Conditioning assembled = PromptEncoder.assemble(SMALL, 1,
                Map.of(EncoderRole.CLIP_G, clipG.encode(List.of("p"))));

        assertThat(assembled.context().maxAbsDiff(expected.context())).isZero();
        assertThat(assembled.pooled().maxAbsDiff(expected.pooled())).isZero();
        assertThat(PromptEncoder.assemble(SMALL, 2, Map.of()).context().shape()).containsExactly(2, 3 + 4, 6);
    }

    @Test
    void rejectsOutputsThatDoNotFitTheirSlot() {
        EncodedText wideT5 = FakeTextEncoder.of(EncoderRole.T5, 4, 5, 0).encode(List.of("p"));
        assertThatThrownBy(() -> PromptEncoder.assemble(SMALL, 1, Map.of(EncoderRole.T5, wideT5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("tokens of t5xxl must be [1, S, 6], found Tensor[1, 4, 5]");

        EncodedText noPooled = EncodedText.of(FakeTextEncoder.of(EncoderRole.CLIP_L, 3, 2, 2).tokensFor("p"));
        assertThatThrownBy(() -> PromptEncoder.assemble(SMALL, 1, Map.of(EncoderRole.CLIP_L, noPooled)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("pooled of clip_l must be [1, 2], found null");

        EncodedText custom = FakeTextEncoder.of(EncoderRole.custom("llm", EncoderRole.Kind.SEQUENCE), 4, 6, 0)
                .encode(List.of("p"));
        assertThatThrownBy(() -> PromptEncoder.assemble(SMALL, 1,
                Map.of(EncoderRole.custom("llm", EncoderRole.Kind.SEQUENCE), custom)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("outputs role must be one of the layout's [clip_l, clip_g, t5xxl], found llm");
    }
}
