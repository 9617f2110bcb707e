package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyList;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.guidance.SkipLayerGuidance;
import org.sd3j.model.Denoiser;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.sd3j.schedule.Schedule;
import org.sd3j.schedule.Sigmas;
import org.sd3j.schedule.TimeShift;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeBlockSkippingDenoiser;
import org.sd3j.testing.FakeDenoiser;
import org.sd3j.testing.FakeDenoiser.VelocityField;

/**
 * What the denoiser sees through the pipeline: timesteps, classifier-free guidance batching and combination,
 * skip-layer guidance. Uses Mockito mocks for the backends.
 */
class GuidanceTest {
    /** A single T5-like slot: context [B, 7, 16], pooled [B, 0]. */
    private static final ConditioningLayout T5_ONLY = ConditioningLayout.builder()
            .slot(EncoderRole.T5, 7, 16, 0).contextDim(16).build();

    /** A text encoder mock whose every feature is 1 for "a red fox", -2 for "blurry" and 0.25 otherwise. */
    private static TextEncoder mockT5() {
        TextEncoder encoder = mock(TextEncoder.class);
        when(encoder.role()).thenReturn(EncoderRole.T5);
        when(encoder.encode(anyList())).thenAnswer(inv -> {
            List<String> prompts = inv.getArgument(0);
            Tensor tokens = Tensor.zeros(prompts.size(), 7, 16);
            for (int b = 0; b < prompts.size(); b++) {
                tokens.slice(b, b + 1).fill(valueOf(prompts.get(b)));
            }
            return EncodedText.of(tokens);
        });
        return encoder;
    }

    private static float valueOf(String prompt) {
        switch (prompt) {
            case "a red fox":
                return 1f;
            case "blurry":
                return -2f;
            default:
                return 0.25f;
        }
    }

    /** Copies of what a mocked denoiser received, since the pipeline reuses its input tensors. */
    private static final class Received {
        final List<Tensor> latents = new ArrayList<>();
        final List<Tensor> timesteps = new ArrayList<>();
        final List<Conditioning> conditioning = new ArrayList<>();
    }

    /** A mocked denoiser answering with {@code field}, recording copies of its inputs into {@code received}. */
    private static Denoiser mockDenoiser(Received received, VelocityField field) {
        Denoiser denoiser = mock(Denoiser.class);
        when(denoiser.name()).thenReturn("mock");
        when(denoiser.velocity(any(), any(), any())).thenAnswer(inv -> {
            Tensor latents = inv.getArgument(0);
            Tensor timesteps = inv.getArgument(1);
            Conditioning c = inv.getArgument(2);
            received.latents.add(latents.copy());
            received.timesteps.add(timesteps.copy());
            received.conditioning.add(new Conditioning(c.context().copy(), c.pooled().copy()));
            return field.velocity(latents, timesteps, c);
        });
        return denoiser;
    }

    private static Sd3Pipeline.Builder pipeline(TextEncoder encoder, Denoiser denoiser) {
        return Sd3Pipeline.builder().layout(T5_ONLY).encoders(encoder).denoiser(denoiser).size(64, 64).steps(4)
                .seed(42);
    }

    @Nested
    class Timesteps {
        @Test
        void areSigmaTimes1000ForEachStepInOrder() {
            Received received = new Received();
            Denoiser denoiser = mockDenoiser(received, VelocityField.zero());

            pipeline(mockT5(), denoiser).steps(4).shift(3.0).generate("a red fox");

            Sigmas sigmas = Schedule.flowMatch().sigmas(4, TimeShift.of(3.0));
            verify(denoiser, times(4)).velocity(any(), any(), any());
            for (int i = 0; i < 4; i++) {
                assertThat(received.timesteps.get(i).toArray()).containsOnly(sigmas.get(i) * 1000f);
            }
        }

        @Test
        void matchTheSpecsGoldenValues() {
            Received received = new Received();

            pipeline(mockT5(), mockDenoiser(received, VelocityField.zero())).generate("a red fox");

            double[] golden = {1000.0, 857.6924, 602.1506, 8.9286};
            assertThat(received.timesteps).hasSize(4);
            for (int i = 0; i < 4; i++) {
                assertThat((double) received.timesteps.get(i).get(0)).isCloseTo(golden[i], within(1e-3));
            }
        }

        @Test
        void haveOneEntryPerBatchItem() {
            Received received = new Received();

            pipeline(mockT5(), mockDenoiser(received, VelocityField.zero())).guidance(1.0)
                    .generate(GenerationRequest.builder("a red fox").batchSize(3).build());

            assertThat(received.timesteps.get(0).shape()).containsExactly(3);
        }

        @Test
        void haveTwoEntriesPerBatchItemWithGuidance() {
            Received received = new Received();

            pipeline(mockT5(), mockDenoiser(received, VelocityField.zero())).guidance(5.0)
                    .generate(GenerationRequest.builder("a red fox").batchSize(3).build());

            assertThat(received.timesteps.get(0).shape()).containsExactly(6);
            assertThat(received.timesteps.get(0).toArray()).containsOnly(1000f);
        }
    }

    @Nested
    class Batching {
        @Test
        void guidanceAboveOneDoublesTheBatch() {
            Received received = new Received();

            pipeline(mockT5(), mockDenoiser(received, VelocityField.zero())).guidance(7.0)
                    .generate(GenerationRequest.builder("a red fox").batchSize(2).build());

            assertThat(received.latents.get(0).shape()).containsExactly(4, 16, 8, 8);
            assertThat(received.conditioning.get(0).context().shape()).containsExactly(4, 7, 16);
        }

        @Test
        void bothHalvesGetTheSameLatents() {
            Received received = new Received();

            pipeline(mockT5(), mockDenoiser(received, VelocityField.scaled(0.5f))).guidance(7.0)
                    .generate(GenerationRequest.builder("a red fox").batchSize(2).build());

            for (Tensor latents : received.latents) {
                assertThat(Fixtures.bitIdentical(latents.slice(0, 2), latents.slice(2, 4))).isTrue();
            }
        }

        @Test
        void conditioningIsNegativeThenPositive() {
            Received received = new Received();

            pipeline(mockT5(), mockDenoiser(received, VelocityField.zero())).guidance(7.0)
                    .generate(GenerationRequest.builder("a red fox").negativePrompt("blurry").batchSize(2).build());

            Tensor context = received.conditioning.get(0).context();
            assertThat(context.slice(0, 2).toArray()).containsOnly(-2f);
            assertThat(context.slice(2, 4).toArray()).containsOnly(1f);
        }

        @Test
        void theNegativePromptIsEncodedOnce() {
            TextEncoder encoder = mockT5();

            pipeline(encoder, mockDenoiser(new Received(), VelocityField.zero())).guidance(7.0)
                    .generate(GenerationRequest.builder("a red fox").negativePrompt("blurry").batchSize(3).build());

            verify(encoder, times(1)).encode(List.of("a red fox"));
            verify(encoder, times(1)).encode(List.of("blurry"));
        }

        @ParameterizedTest
        @ValueSource(doubles = {1.0, 0.5, 0.0, -3.0})
        void guidanceOfAtMostOneKeepsTheBatch(double guidance) {
            Received received = new Received();

            pipeline(mockT5(), mockDenoiser(received, VelocityField.zero())).guidance(guidance)
                    .generate(GenerationRequest.builder("a red fox").batchSize(2).build());

            assertThat(received.latents.get(0).shape()).containsExactly(2, 16, 8, 8);
            assertThat(received.conditioning.get(0).context().toArray()).containsOnly(1f);
        }

        @Test
        void guidanceOfOneEncodesNoNegativePrompt() {
            TextEncoder encoder = mockT5();

            pipeline(encoder, mockDenoiser(new Received(), VelocityField.zero())).guidance(1.0)
                    .generate(GenerationRequest.builder("a red fox").negativePrompt("blurry").build());

            verify(encoder).encode(List.of("a red fox"));
            verify(encoder, never()).encode(List.of("blurry"));
            verify(encoder, times(1)).encode(anyList());
        }

        @Test
        void theStartEventSaysWhetherGuidanceIsOn() {
            org.sd3j.testing.RecordingListener on = new org.sd3j.testing.RecordingListener();
            org.sd3j.testing.RecordingListener off = new org.sd3j.testing.RecordingListener();
            Sd3Pipeline p = pipeline(mockT5(), mockDenoiser(new Received(), VelocityField.zero())).build();

            p.toBuilder().listener(on).guidance(1.01).generate("a red fox");
            p.toBuilder().listener(off).guidance(1.0).generate("a red fox");

            assertThat(on.starts().get(0).guided()).isTrue();
            assertThat(off.starts().get(0).guided()).isFalse();
        }
    }

    @Nested
    class Combination {
        /** One Euler step from sigma 1 to 0: x = noise - v, with v = v_neg + g * (v_pos - v_neg). */
        @Test
        void isNegativePlusScaleTimesTheDifference() {
            Received received = new Received();
            float g = 4.5f;

            GenerationResult result = pipeline(mockT5(), mockDenoiser(received, VelocityField.contextMean()))
                    .steps(1).guidance(g)
                    .generate(GenerationRequest.builder("a red fox").negativePrompt("blurry").build());

            float expectedV = -2f + g * (1f - -2f);
            Tensor noise = Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE);
            Tensor latents = result.latents();
            for (int i = 0; i < latents.size(); i++) {
                assertThat(latents.get(i)).isEqualTo(noise.get(i) + (0f - 1f) * expectedV);
            }
        }

        @Test
        void appliesAtEveryStep() {
            float g = 3f;
            Sd3Pipeline.Builder b = pipeline(mockT5(), mockDenoiser(new Received(), VelocityField.contextMean()))
                    .steps(4).guidance(g);

            GenerationResult result = b.generate(GenerationRequest.builder("a red fox").negativePrompt("blurry")
                    .build());

            // The combined velocity is the constant -2 + 3 * 3 = 7; Euler over the whole schedule moves by -7.
            Sigmas sigmas = Schedule.flowMatch().sigmas(4, TimeShift.of(3.0));
            Tensor expected = Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE);
            for (int i = 0; i < 4; i++) {
                expected.addScaled(Tensor.full(7f, Fixtures.LATENT_SHAPE), sigmas.get(i + 1) - sigmas.get(i));
            }
            assertThat(result.latents().maxAbsDiff(expected)).isZero();
        }

        @Test
        void combinesEachBatchItemWithItsOwnNegative() {
            // v depends on the latents too: v_b = 0.5 * x_b + mean(context_b), so items differ.
            VelocityField field = (x, t, c) -> {
                Tensor v = VelocityField.contextMean().velocity(x, t, c);
                return v.addScaled(x, 0.5f);
            };
            float g = 2f;

            GenerationResult result = pipeline(mockT5(), mockDenoiser(new Received(), field)).steps(1).guidance(g)
                    .generate(GenerationRequest.builder("a red fox").negativePrompt("blurry").batchSize(2).build());

            Tensor x = Tensor.concat(0, Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE),
                    Fixtures.torchNoise(43, Fixtures.LATENT_SHAPE));
            Tensor latents = result.latents();
            for (int i = 0; i < x.size(); i++) {
                float neg = -2f + 0.5f * x.get(i);
                float pos = 1f + 0.5f * x.get(i);
                float v = neg + g * (pos - neg);
                assertThat(latents.get(i)).isCloseTo(x.get(i) - v, within(1e-6f));
            }
        }

        @Test
        void feedsHeunsTwoEvaluationsPerStepCorrectly() {
            // v_b = 0.5 x + mean(context_b): guided v = 0.5 x + (-2 + g * 3). Heun, hand-computed per element.
            VelocityField field = (x, t, c) -> VelocityField.contextMean().velocity(x, t, c).addScaled(x, 0.5f);
            float g = 3f;

            GenerationResult result = pipeline(mockT5(), mockDenoiser(new Received(), field)).steps(4).guidance(g)
                    .sampler("heun")
                    .generate(GenerationRequest.builder("a red fox").negativePrompt("blurry").build());

            float c = -2f + g * (1f - -2f);
            Sigmas s = Schedule.flowMatch().sigmas(4, TimeShift.of(3.0));
            float[] x = Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE).toArray();
            for (int i = 0; i < 4; i++) {
                float dt = s.get(i + 1) - s.get(i);
                for (int j = 0; j < x.length; j++) {
                    float v1 = 0.5f * x[j] + c;
                    if (s.get(i + 1) == 0f) {
                        x[j] += dt * v1;
                    } else {
                        float v2 = 0.5f * (x[j] + dt * v1) + c;
                        x[j] += (v1 + v2) * dt * 0.5f;
                    }
                }
            }
            assertThat(result.latents().maxAbsDiff(Tensor.of(x, Fixtures.LATENT_SHAPE))).isLessThan(1e-5);
        }

        @Test
        void isOffAtGuidanceOne() {
            GenerationResult result = pipeline(mockT5(), mockDenoiser(new Received(), VelocityField.contextMean()))
                    .steps(1).guidance(1.0)
                    .generate(GenerationRequest.builder("a red fox").negativePrompt("blurry").build());

            Tensor noise = Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE);
            assertThat(result.latents().maxAbsDiff(noise.addScaled(Tensor.full(1f, Fixtures.LATENT_SHAPE), -1f)))
                    .isZero();
        }
    }

    @Nested
    class SkipLayer {
        private FakeBlockSkippingDenoiser skipping() {
            // v = 1 normally, 0 with blocks skipped: skip-layer guidance adds scale * (1 - 0).
            return FakeDenoiser.builder()
                    .field(VelocityField.constant(1f))
                    .skippingField((x, t, c, blocks) -> Tensor.zeros(x.shape()))
                    .blockCount(4)
                    .buildBlockSkipping();
        }

        @Test
        void runsAnExtraPositiveOnlyForwardDuringItsSteps() {
            FakeBlockSkippingDenoiser denoiser = skipping();

            pipeline(mockT5(), denoiser).steps(10).guidance(7.0)
                    .skipLayerGuidance(new SkipLayerGuidance(Set.of(1, 2), 2.0, 0.1, 0.5))
                    .generate(GenerationRequest.builder("a red fox").batchSize(2).build());

            // Steps i with 1 < i < 5 (i = 2, 3, 4) get one extra call each.
            List<FakeDenoiser.Call> skipped = denoiser.calls().stream().filter(FakeDenoiser.Call::skipping).toList();
            assertThat(denoiser.callCount()).isEqualTo(13);
            assertThat(skipped).hasSize(3);
            Sigmas sigmas = Schedule.flowMatch().sigmas(10, TimeShift.of(3.0));
            assertThat(skipped).extracting(FakeDenoiser.Call::timestep)
                    .containsExactly(sigmas.timestep(2), sigmas.timestep(3), sigmas.timestep(4));
        }

        @Test
        void theExtraForwardSeesThePositiveHalfOnly() {
            FakeBlockSkippingDenoiser denoiser = FakeDenoiser.builder()
                    .skippingField((x, t, c, blocks) -> Tensor.zeros(x.shape())).recordConditioning(true)
                    .blockCount(4).buildBlockSkipping();

            pipeline(mockT5(), denoiser).steps(10).guidance(7.0)
                    .skipLayerGuidance(new SkipLayerGuidance(Set.of(3), 2.0, 0.1, 0.5))
                    .generate(GenerationRequest.builder("a red fox").negativePrompt("blurry").batchSize(2).build());

            FakeDenoiser.Call call = denoiser.calls().stream().filter(FakeDenoiser.Call::skipping).findFirst()
                    .orElseThrow();
            assertThat(call.skippedBlocks()).containsExactly(3);
            assertThat(call.latents().shape()).containsExactly(2, 16, 8, 8);
            assertThat(call.timesteps().shape()).containsExactly(2);
            assertThat(call.conditioning().context().toArray()).containsOnly(1f);
        }

        @Test
        void addsScaleTimesPositiveMinusSkipped() {
            FakeBlockSkippingDenoiser denoiser = skipping();

            GenerationResult result = pipeline(mockT5(), denoiser).steps(4).guidance(7.0)
                    .skipLayerGuidance(new SkipLayerGuidance(Set.of(1), 2.0, 0.0, 1.0))
                    .generate("a red fox");

            // Active for steps 1..3 (0 < i < 4): v = 1 + 2 * (1 - 0) = 3 there, 1 at step 0.
            Sigmas s = Schedule.flowMatch().sigmas(4, TimeShift.of(3.0));
            Tensor expected = Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE);
            for (int i = 0; i < 4; i++) {
                float v = i == 0 ? 1f : 3f;
                expected.addScaled(Tensor.full(v, Fixtures.LATENT_SHAPE), s.get(i + 1) - s.get(i));
            }
            assertThat(result.latents().maxAbsDiff(expected)).isZero();
        }

        @Test
        void isOffWithoutClassifierFreeGuidance() {
            FakeBlockSkippingDenoiser denoiser = skipping();

            pipeline(mockT5(), denoiser).steps(10).guidance(1.0)
                    .skipLayerGuidance(new SkipLayerGuidance(Set.of(1), 2.0, 0.0, 1.0))
                    .generate("a red fox");

            assertThat(denoiser.calls()).noneMatch(FakeDenoiser.Call::skipping).hasSize(10);
        }

        @Test
        void aFailingSkippingForwardIsABackendError() {
            IllegalStateException boom = new IllegalStateException("no skip graph");
            FakeBlockSkippingDenoiser denoiser = FakeDenoiser.builder()
                    .skippingField((x, t, c, blocks) -> {
                        throw boom;
                    }).blockCount(4).buildBlockSkipping();
            Sd3Pipeline.Builder b = pipeline(mockT5(), denoiser).steps(4).guidance(7.0)
                    .skipLayerGuidance(new SkipLayerGuidance(Set.of(1), 2.0, 0.0, 1.0));

            org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.generate("a red fox"))
                    .isInstanceOf(BackendException.class)
                    .hasMessage("denoiser.velocitySkipping failed: java.lang.IllegalStateException: no skip graph")
                    .hasCause(boom);
        }

        @Test
        void aWrongShapeFromTheSkippingForwardIsABackendError() {
            FakeBlockSkippingDenoiser denoiser = FakeDenoiser.builder()
                    .skippingField((x, t, c, blocks) -> Tensor.zeros(1, 16, 4, 4)).blockCount(4).buildBlockSkipping();
            Sd3Pipeline.Builder b = pipeline(mockT5(), denoiser).steps(4).guidance(7.0)
                    .skipLayerGuidance(new SkipLayerGuidance(Set.of(1), 2.0, 0.0, 1.0));

            org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.generate("a red fox"))
                    .isInstanceOf(BackendException.class)
                    .hasMessage("denoiser.velocitySkipping failed: returned Tensor[1, 16, 4, 4] for latents"
                            + " Tensor[1, 16, 8, 8]; expected the same shape");
        }
    }
}
