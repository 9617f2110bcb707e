package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.anyList;
import static org.mockito.Mockito.spy;
import static org.mockito.Mockito.verify;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeDenoiser;
import org.sd3j.testing.FakeTextEncoder;

/**
 * The conditioning the denoiser receives for every subset of the three encoders, in the small layout of
 * {@link Fixtures#LAYOUT}: CLIP-L 5x8 (pooled 8), CLIP-G 5x12 (pooled 12), T5 7x16, context width 24. So the
 * context is [B, 5 + 7, 24] (CLIP-L in columns 0-7, CLIP-G in 8-19, zeros in 20-23 of rows 0-4; T5 in columns
 * 0-15 of rows 5-11) and pooled is [B, 8 + 12].
 */
class ConditioningThroughPipelineTest {
    private static final String PROMPT = "a red fox";

    /** The 8 subsets of {CLIP-L, CLIP-G, T5} as bit masks 0..7 (bit 0 CLIP-L, bit 1 CLIP-G, bit 2 T5). */
    static Stream<Integer> subsets() {
        return IntStream.range(0, 8).boxed();
    }

    private static FakeDenoiser recording() {
        return FakeDenoiser.builder().recordConditioning(true).build();
    }

    private static Conditioning run(FakeTextEncoder[] encoders, int batch) {
        FakeDenoiser denoiser = recording();
        Fixtures.pipeline(denoiser).encoders(encoders).guidance(1.0).steps(1)
                .generate(GenerationRequest.builder(PROMPT).batchSize(batch).build());
        return denoiser.call(0).conditioning();
    }

    private static FakeTextEncoder[] encoders(int mask, FakeTextEncoder l, FakeTextEncoder g, FakeTextEncoder t5) {
        List<FakeTextEncoder> out = new ArrayList<>();
        if ((mask & 1) != 0) {
            out.add(l);
        }
        if ((mask & 2) != 0) {
            out.add(g);
        }
        if ((mask & 4) != 0) {
            out.add(t5);
        }
        return out.toArray(FakeTextEncoder[]::new);
    }

    /** Value at [b, row, col] of a [B, S, D] tensor. */
    private static float at(Tensor t, int b, int row, int col) {
        return t.at(b, row, col);
    }

    @ParameterizedTest(name = "encoder subset {0}")
    @MethodSource("subsets")
    void contextAndPooledHaveTheLayoutsShape(int mask) {
        FakeTextEncoder[] present = encoders(mask, Fixtures.clipL(), Fixtures.clipG(), Fixtures.t5());

        Conditioning c = run(present, 2);

        assertThat(c.context().shape()).containsExactly(2, 5 + 7, 24);
        assertThat(c.pooled().shape()).containsExactly(2, 8 + 12);
    }

    @ParameterizedTest(name = "encoder subset {0}")
    @MethodSource("subsets")
    void eachEncoderFillsItsColumnsAndAMissingOneGivesZeros(int mask) {
        FakeTextEncoder l = Fixtures.clipL();
        FakeTextEncoder g = Fixtures.clipG();
        FakeTextEncoder t5 = Fixtures.t5();

        Conditioning c = run(encoders(mask, l, g, t5), 2);

        Tensor lTokens = l.tokensFor(PROMPT);
        Tensor gTokens = g.tokensFor(PROMPT);
        Tensor t5Tokens = t5.tokensFor(PROMPT);
        Tensor ctx = c.context();
        for (int b = 0; b < 2; b++) {
            for (int row = 0; row < 5; row++) {
                for (int col = 0; col < 8; col++) {
                    float expected = (mask & 1) != 0 ? at(lTokens, 0, row, col) : 0f;
                    assertThat(at(ctx, b, row, col)).as("CLIP-L [%d, %d, %d]", b, row, col).isEqualTo(expected);
                }
                for (int col = 0; col < 12; col++) {
                    float expected = (mask & 2) != 0 ? at(gTokens, 0, row, col) : 0f;
                    assertThat(at(ctx, b, row, 8 + col)).as("CLIP-G [%d, %d, %d]", b, row, 8 + col)
                            .isEqualTo(expected);
                }
                for (int col = 20; col < 24; col++) {
                    assertThat(at(ctx, b, row, col)).as("CLIP padding [%d, %d, %d]", b, row, col).isZero();
                }
            }
            for (int row = 0; row < 7; row++) {
                for (int col = 0; col < 24; col++) {
                    float expected = (mask & 4) != 0 && col < 16 ? at(t5Tokens, 0, row, col) : 0f;
                    assertThat(at(ctx, b, 5 + row, col)).as("T5 [%d, %d, %d]", b, 5 + row, col).isEqualTo(expected);
                }
            }
        }
    }

    @ParameterizedTest(name = "encoder subset {0}")
    @MethodSource("subsets")
    void pooledIsClipLThenClipGWithZerosForAMissingOne(int mask) {
        FakeTextEncoder l = Fixtures.clipL();
        FakeTextEncoder g = Fixtures.clipG();

        Conditioning c = run(encoders(mask, l, g, Fixtures.t5()), 2);

        float[] expected = new float[20];
        if ((mask & 1) != 0) {
            System.arraycopy(l.pooledFor(PROMPT).toArray(), 0, expected, 0, 8);
        }
        if ((mask & 2) != 0) {
            System.arraycopy(g.pooledFor(PROMPT).toArray(), 0, expected, 8, 12);
        }
        assertThat(c.pooled().slice(0, 1).toArray()).containsExactly(expected);
        assertThat(c.pooled().slice(1, 2).toArray()).containsExactly(expected);
    }

    @ParameterizedTest(name = "encoder subset {0}")
    @MethodSource("subsets")
    void everyPresentEncoderSeesThePromptOnce(int mask) {
        FakeTextEncoder l = Fixtures.clipL();
        FakeTextEncoder g = Fixtures.clipG();
        FakeTextEncoder t5 = Fixtures.t5();

        run(encoders(mask, l, g, t5), 3);

        assertThat(l.calls()).isEqualTo((mask & 1) != 0 ? List.of(List.of(PROMPT)) : List.of());
        assertThat(g.calls()).isEqualTo((mask & 2) != 0 ? List.of(List.of(PROMPT)) : List.of());
        assertThat(t5.calls()).isEqualTo((mask & 4) != 0 ? List.of(List.of(PROMPT)) : List.of());
    }

    @Test
    void aPromptOverrideReachesOnlyItsEncoder() {
        FakeTextEncoder l = Fixtures.clipL();
        FakeTextEncoder g = Fixtures.clipG();
        FakeTextEncoder t5 = Fixtures.t5();

        Fixtures.pipeline(FakeDenoiser.zero()).encoders(l, g, t5).guidance(1.0).steps(1)
                .generate(GenerationRequest.builder(PROMPT).prompt(EncoderRole.T5, "a long, literal T5 prompt").build());

        assertThat(t5.prompts()).containsExactly("a long, literal T5 prompt");
        assertThat(l.prompts()).containsExactly(PROMPT);
        assertThat(g.prompts()).containsExactly(PROMPT);
    }

    @Test
    void aPromptOverrideShapesTheConditioning() {
        FakeTextEncoder t5 = Fixtures.t5();
        FakeDenoiser denoiser = recording();

        Fixtures.pipeline(denoiser).encoders(Fixtures.clipL(), t5).guidance(1.0).steps(1)
                .generate(GenerationRequest.builder(PROMPT).prompt(EncoderRole.T5, "override").build());

        Tensor ctx = denoiser.call(0).conditioning().context();
        Tensor expected = t5.tokensFor("override");
        for (int row = 0; row < 7; row++) {
            for (int col = 0; col < 16; col++) {
                assertThat(ctx.at(0, 5 + row, col)).isEqualTo(expected.at(0, row, col));
            }
        }
    }

    @Test
    void aPromptOverrideDoesNotChangeTheNegativePrompt() {
        FakeTextEncoder l = Fixtures.clipL();
        FakeTextEncoder t5 = Fixtures.t5();

        Fixtures.pipeline(FakeDenoiser.zero()).encoders(l, t5).guidance(7.0).steps(1)
                .generate(GenerationRequest.builder(PROMPT).negativePrompt("blurry")
                        .prompt(EncoderRole.T5, "override").build());

        assertThat(t5.prompts()).containsExactly("override", "blurry");
        assertThat(l.prompts()).containsExactly(PROMPT, "blurry");
    }

    @Test
    void anOverrideForAMissingEncoderIsIgnored() {
        FakeTextEncoder l = Fixtures.clipL();
        FakeDenoiser denoiser = FakeDenoiser.zero();

        Fixtures.pipeline(denoiser).encoders(l).guidance(1.0).steps(1)
                .generate(GenerationRequest.builder(PROMPT).prompt(EncoderRole.T5, "no T5 here").build());

        assertThat(l.prompts()).containsExactly(PROMPT);
        assertThat(denoiser.callCount()).isEqualTo(1);
    }

    @Test
    void anEmptyNegativePromptIsEncodedNormally() {
        FakeTextEncoder l = Fixtures.clipL();
        FakeTextEncoder g = Fixtures.clipG();
        FakeTextEncoder t5 = Fixtures.t5();

        Fixtures.pipeline(FakeDenoiser.zero()).encoders(l, g, t5).guidance(7.0).steps(1).generate(PROMPT);

        assertThat(l.prompts()).containsExactly(PROMPT, "");
        assertThat(g.prompts()).containsExactly(PROMPT, "");
        assertThat(t5.prompts()).containsExactly(PROMPT, "");
    }

    @Test
    void anEmptyNegativePromptGivesTheEncodersFeaturesNotZeros() {
        FakeTextEncoder l = Fixtures.clipL();
        FakeTextEncoder g = Fixtures.clipG();
        FakeTextEncoder t5 = Fixtures.t5();
        FakeDenoiser denoiser = recording();

        Fixtures.pipeline(denoiser).encoders(l, g, t5).guidance(7.0).steps(1).generate(PROMPT);

        Conditioning c = denoiser.call(0).conditioning();
        Tensor negativeContext = c.context().slice(0, 1);
        assertThat(negativeContext.at(0, 0, 0)).isEqualTo(l.tokensFor("").at(0, 0, 0)).isNotZero();
        assertThat(negativeContext.at(0, 0, 8)).isEqualTo(g.tokensFor("").at(0, 0, 0)).isNotZero();
        assertThat(negativeContext.at(0, 5, 0)).isEqualTo(t5.tokensFor("").at(0, 0, 0)).isNotZero();
        assertThat(c.pooled().slice(0, 1).toArray()).startsWith(l.pooledFor("").toArray());
    }

    @Test
    void anEmptyNegativePromptReachesAMockedEncoder() {
        TextEncoder t5 = spy(Fixtures.t5());

        Fixtures.pipeline(FakeDenoiser.zero()).encoders(t5).guidance(7.0).steps(1).generate(PROMPT);

        verify(t5).encode(List.of(PROMPT));
        verify(t5).encode(List.of(""));
        verify(t5, org.mockito.Mockito.times(2)).encode(anyList());
    }
}
