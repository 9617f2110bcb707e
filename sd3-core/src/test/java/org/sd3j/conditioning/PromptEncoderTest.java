package org.sd3j.conditioning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.anyList;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.sd3j.BackendException;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.sd3j.tensor.Tensor;

class PromptEncoderTest {
    private static final ConditioningLayout SMALL = ConditioningLayout.builder()
            .slot(EncoderRole.CLIP_L, 3, 2, 2)
            .slot(EncoderRole.CLIP_G, 3, 3, 4)
            .slot(EncoderRole.T5, 4, 6, 0)
            .contextDim(6)
            .build();

    private static TextEncoder encoder(EncoderRole role, int tokens, int features, int pooled, float value) {
        TextEncoder e = mock(TextEncoder.class);
        when(e.role()).thenReturn(role);
        when(e.encode(anyList())).thenAnswer(inv -> {
            int b = inv.<List<String>>getArgument(0).size();
            return new EncodedText(Tensor.full(value, b, tokens, features),
                    pooled == 0 ? null : Tensor.full(value, b, pooled));
        });
        return e;
    }

    @Test
    void sd3LayoutHasTheSpecsDimensions() {
        ConditioningLayout sd3 = ConditioningLayout.sd3();
        assertThat(sd3.contextDim()).isEqualTo(4096);
        assertThat(sd3.pooledDim()).isEqualTo(2048);
        assertThat(sd3.slots()).extracting(ConditioningLayout.Slot::role)
                .containsExactly(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5);
        assertThat(sd3.slot(EncoderRole.T5).orElseThrow().tokens()).isEqualTo(256);
    }

    @Test
    void noEncodersGivesAllZerosOfLayoutShape() {
        Conditioning c = new PromptEncoder(ConditioningLayout.sd3(), List.of()).encode(List.of("x", "y"));
        assertThat(c.context().shape()).containsExactly(2, 333, 4096);
        assertThat(c.pooled().shape()).containsExactly(2, 2048);
        assertThat(c.context().allFinite()).isTrue();
        assertThat(c.context().toArray()).containsOnly(0f);
    }

    @Test
    void placesEachEncoderInItsColumnsAndRows() {
        Conditioning c = new PromptEncoder(SMALL, List.of(
                encoder(EncoderRole.CLIP_L, 3, 2, 2, 1f),
                encoder(EncoderRole.CLIP_G, 3, 3, 4, 2f),
                encoder(EncoderRole.T5, 5, 6, 0, 3f))).encode(List.of("p"));
        // 3 CLIP rows: [L L G G G 0], then 5 T5 rows (the encoder's own length wins over the slot's 4).
        assertThat(c.context().shape()).containsExactly(1, 8, 6);
        assertThat(c.context().slice(0, 1).reshape(8, 6).toArray()).startsWith(1, 1, 2, 2, 2, 0);
        assertThat(c.context().at(0, 3, 0)).isEqualTo(3f);
        assertThat(c.context().at(0, 7, 5)).isEqualTo(3f);
        assertThat(c.pooled().toArray()).containsExactly(1, 1, 2, 2, 2, 2);
    }

    @Test
    void missingClipUsesPresentClipTokenCount() {
        Conditioning c = new PromptEncoder(SMALL, List.of(encoder(EncoderRole.CLIP_G, 5, 3, 4, 2f)))
                .encode(List.of("p"));
        assertThat(c.context().shape()).containsExactly(1, 5 + 4, 6);
        assertThat(c.context().at(0, 4, 0)).isEqualTo(0f);
        assertThat(c.context().at(0, 4, 2)).isEqualTo(2f);
        assertThat(c.pooled().toArray()).containsExactly(0, 0, 2, 2, 2, 2);
    }

    @Test
    void overridesReachOnlyTheirEncoder() {
        TextEncoder l = encoder(EncoderRole.CLIP_L, 3, 2, 2, 1f);
        TextEncoder t5 = encoder(EncoderRole.T5, 4, 6, 0, 3f);
        new PromptEncoder(SMALL, List.of(l, t5)).encode(List.of("short"), Map.of(EncoderRole.T5, List.of("long")));
        verify(l).encode(List.of("short"));
        verify(t5).encode(List.of("long"));
        verify(t5, never()).encode(List.of("short"));
    }

    @Test
    void rejectsRoleOutsideLayout() {
        TextEncoder custom = encoder(EncoderRole.custom("llm", EncoderRole.Kind.SEQUENCE), 4, 6, 0, 1f);
        assertThatThrownBy(() -> new PromptEncoder(SMALL, List.of(custom)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("encoder role must be one of the layout's [clip_l, clip_g, t5xxl], found llm");
    }

    @Test
    void customSequenceRoleJoinsAfterClip() {
        EncoderRole llm = EncoderRole.custom("llm", EncoderRole.Kind.SEQUENCE);
        ConditioningLayout layout = ConditioningLayout.builder()
                .slot(EncoderRole.CLIP_L, 3, 2, 2).slot(llm, 2, 4, 0).contextDim(4).build();
        Conditioning c = new PromptEncoder(layout, List.of(encoder(llm, 2, 4, 0, 5f))).encode(List.of("p"));
        assertThat(c.context().shape()).containsExactly(1, 5, 4);
        assertThat(c.context().at(0, 3, 3)).isEqualTo(5f);
        assertThat(c.context().at(0, 0, 0)).isEqualTo(0f);
    }

    @Test
    void rejectsTwoEncodersForOneRole() {
        assertThatThrownBy(() -> new PromptEncoder(SMALL, List.of(
                encoder(EncoderRole.T5, 4, 6, 0, 1f), encoder(EncoderRole.T5, 4, 6, 0, 1f))))
                .hasMessage("encoders must be one per role, found two for t5xxl");
    }

    @Test
    void wrongFeatureWidthIsABackendError() {
        PromptEncoder p = new PromptEncoder(SMALL, List.of(encoder(EncoderRole.CLIP_L, 3, 7, 2, 1f)));
        assertThatThrownBy(() -> p.encode(List.of("p")))
                .isInstanceOf(BackendException.class)
                .hasMessage("clip_l.encode failed: returned tokens Tensor[1, 3, 7], expected [1, S, 2] for the"
                        + " layout's clip_l slot");
    }

    @Test
    void missingPooledIsABackendError() {
        PromptEncoder p = new PromptEncoder(SMALL, List.of(encoder(EncoderRole.CLIP_G, 3, 3, 0, 1f)));
        assertThatThrownBy(() -> p.encode(List.of("p")))
                .isInstanceOf(BackendException.class)
                .hasMessage("clip_g.encode failed: returned pooled none, expected [1, 4]");
    }

    @Test
    void clipTokenCountsMustAgree() {
        PromptEncoder p = new PromptEncoder(SMALL, List.of(
                encoder(EncoderRole.CLIP_L, 3, 2, 2, 1f), encoder(EncoderRole.CLIP_G, 4, 3, 4, 1f)));
        assertThatThrownBy(() -> p.encode(List.of("p")))
                .hasMessage("clip_g.encode failed: returned 4 tokens where the other CLIP encoder returned 3");
    }

    @Test
    void rejectsNullPromptAndMismatchedOverrides() {
        PromptEncoder p = new PromptEncoder(SMALL, List.of());
        assertThatThrownBy(() -> p.encode(java.util.Arrays.asList("a", null)))
                .hasMessage("prompts[1] must be non-null, found null");
        assertThatThrownBy(() -> p.encode(List.of("a"), Map.of(EncoderRole.T5, List.of("x", "y"))))
                .hasMessage("override prompts for t5xxl must be 1 prompts, found 2");
    }

    @Test
    void layoutValidation() {
        assertThatThrownBy(() -> ConditioningLayout.builder().slot(EncoderRole.CLIP_L, 77, 768, 768).build())
                .hasMessage("contextDim must be set, found unset");
        assertThatThrownBy(() -> ConditioningLayout.builder().slot(EncoderRole.CLIP_L, 77, 768, 768)
                .slot(EncoderRole.CLIP_G, 77, 1280, 1280).contextDim(1024).build())
                .hasMessage("contextDim must be >= the CLIP slots' summed features 2048, found 1024");
        assertThatThrownBy(() -> ConditioningLayout.builder().slot(EncoderRole.CLIP_L, 77, 8, 8)
                .slot(EncoderRole.CLIP_G, 76, 8, 8).contextDim(16).build())
                .hasMessage("tokens of clip_g must be 77 like the other CLIP slots, found 76");
        assertThatThrownBy(() -> ConditioningLayout.builder().slot(EncoderRole.T5, 77, 8, 3))
                .hasMessage("pooled must be 0 for the sequence role t5xxl, found 3");
        assertThatThrownBy(() -> ConditioningLayout.builder().slot(EncoderRole.T5, 77, 8, 0)
                .slot(EncoderRole.T5, 77, 8, 0))
                .hasMessage("role must be unique in the layout, found t5xxl");
    }

    @Test
    void withTokensChangesOneSlot() {
        ConditioningLayout l = ConditioningLayout.sd3().withTokens(EncoderRole.T5, 77);
        assertThat(l.slot(EncoderRole.T5).orElseThrow().tokens()).isEqualTo(77);
        assertThat(l.slot(EncoderRole.CLIP_L).orElseThrow().features()).isEqualTo(768);
    }

    @Test
    void encoderRoles() {
        assertThat(EncoderRole.builtIn("T5")).isSameAs(EncoderRole.T5);
        assertThat(EncoderRole.custom("llm", EncoderRole.Kind.SEQUENCE))
                .isEqualTo(EncoderRole.custom("llm", EncoderRole.Kind.SEQUENCE));
        assertThatThrownBy(() -> EncoderRole.custom("clip_l", EncoderRole.Kind.CLIP))
                .hasMessage("name must be different from the built-in role 'clip_l', found 'clip_l'");
        assertThatThrownBy(() -> EncoderRole.custom("Bad Name", EncoderRole.Kind.CLIP))
                .hasMessage("name must be lower-case letters, digits, '_' or '-', found 'Bad Name'");
        assertThatThrownBy(() -> EncoderRole.builtIn("bert"))
                .hasMessage("name must be one of [clip_l, clip_g, t5xxl], found 'bert'");
    }
}
