package org.sd3j.conditioning;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.sd3j.golden.GoldenTensors;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.sd3j.tensor.Tensor;

/**
 * Parity with Stability's reference conditioning assembly (sd3.5 repo, fbf8f48): the golden file holds the three
 * encoders' outputs for one prompt and the context/pooled the reference assembled from them.
 */
class PromptEncoderGoldenTest {
    private static final GoldenTensors GOLDEN = GoldenTensors.load("/golden/sd3_cond.safetensors");

    // The tiny encoders of the golden data: CLIP-L width 64, CLIP-G width 96, T5 width 192 (= context width).
    private static final ConditioningLayout TINY = ConditioningLayout.builder()
            .slot(EncoderRole.CLIP_L, 77, 64, 64)
            .slot(EncoderRole.CLIP_G, 77, 96, 96)
            .slot(EncoderRole.T5, 77, 192, 0)
            .contextDim(192)
            .build();

    private static TextEncoder replay(EncoderRole role, String tokens, String pooled) {
        return new TextEncoder() {
            @Override
            public EncoderRole role() {
                return role;
            }

            @Override
            public EncodedText encode(List<String> prompts) {
                assertThat(prompts).containsExactly(GOLDEN.metadata().get("prompt"));
                return new EncodedText(GOLDEN.tensor(tokens), pooled == null ? null : GOLDEN.tensor(pooled));
            }
        };
    }

    @Test
    void assemblesContextAndPooledExactlyAsTheReference() {
        PromptEncoder encoder = new PromptEncoder(TINY, List.of(
                replay(EncoderRole.T5, "t5_out", null),
                replay(EncoderRole.CLIP_G, "g_out", "g_pooled"),
                replay(EncoderRole.CLIP_L, "l_out", "l_pooled")));

        Conditioning c = encoder.encode(List.of(GOLDEN.metadata().get("prompt")));

        Tensor context = GOLDEN.tensor("context");
        Tensor pooled = GOLDEN.tensor("pooled");
        assertThat(c.context().shape()).containsExactly(1, 154, 192);
        assertThat(c.pooled().shape()).containsExactly(1, 160);
        // Assembly only moves values: bit-identical to the reference's float32 result.
        assertThat(c.context().toArray()).containsExactly(context.toArray());
        assertThat(c.pooled().toArray()).containsExactly(pooled.toArray());
    }
}
