package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import java.util.Set;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.guidance.SkipLayerGuidance;
import org.sd3j.model.Denoiser;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.LatentFormat;
import org.sd3j.sampler.Samplers;
import org.sd3j.schedule.Schedule;
import org.sd3j.schedule.TimeShift;
import org.sd3j.testing.FakeDenoiser;
import org.sd3j.testing.FakeTextEncoder;
import org.sd3j.testing.IdentityVae;
import org.sd3j.testing.RecordingListener;

class Sd3PipelineBuilderTest {

    private static Sd3Pipeline.Builder builder() {
        return Sd3Pipeline.builder().denoiser(FakeDenoiser.zero());
    }

    @Nested
    class FluentChain {
        @Test
        void generateOnTheBuilderReturnsTheResultDirectly() {
            FakeDenoiser denoiser = FakeDenoiser.builder().recordLatents(false).build();

            GenerationResult result = Sd3Pipeline.builder()
                    .encoders(FakeTextEncoder.clipL(), FakeTextEncoder.clipG(), FakeTextEncoder.t5())
                    .denoiser(denoiser)
                    .steps(28).shift(3.0)
                    .generate("a red fox");

            assertThat(result.latents().shape()).containsExactly(1, 16, 128, 128);
            assertThat(denoiser.callCount()).isEqualTo(28);
            assertThat(denoiser.call(0).contextShape()).containsExactly(2, 77 + 256, 4096);
            assertThat(denoiser.call(0).pooledShape()).containsExactly(2, 2048);
        }

        @Test
        void generateWithARequestOnTheBuilder() {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            GenerationResult result = Fixtures.pipeline(denoiser)
                    .generate(GenerationRequest.builder("a red fox").batchSize(2).steps(3).guidance(1.0).build());

            assertThat(result.latents().shape()).containsExactly(2, 16, 8, 8);
            assertThat(denoiser.callCount()).isEqualTo(3);
        }

        @Test
        void aBuiltPipelineGeneratesFromAString() {
            Sd3Pipeline pipeline = Fixtures.pipeline(FakeDenoiser.zero()).build();

            assertThat(pipeline.generate("a red fox").latents().shape()).containsExactly(Fixtures.LATENT_SHAPE);
        }

        @Test
        void aBuiltPipelineGeneratesFromARequest() {
            FakeDenoiser denoiser = FakeDenoiser.zero();
            Sd3Pipeline pipeline = Fixtures.pipeline(denoiser).build();

            GenerationResult result = pipeline.generate(GenerationRequest.builder("a red fox").size(32, 48).build());

            assertThat(result.latents().shape()).containsExactly(1, 16, 6, 4);
        }

        @Test
        void aPipelineIsReusable() {
            Sd3Pipeline pipeline = Fixtures.pipeline(FakeDenoiser.zero()).build();

            GenerationResult first = pipeline.generate("a red fox");
            GenerationResult second = pipeline.generate("a red fox");

            assertThat(Fixtures.bitIdentical(first.latents(), second.latents())).isTrue();
        }
    }

    @Nested
    class Defaults {
        private final Sd3Pipeline pipeline = builder().build();

        @Test
        void stepsAre28() {
            assertThat(pipeline.steps()).isEqualTo(28);
        }

        @Test
        void guidanceIs7() {
            assertThat(pipeline.guidance()).isEqualTo(7.0);
        }

        @Test
        void sizeIs1024() {
            assertThat(pipeline.width()).isEqualTo(1024);
            assertThat(pipeline.height()).isEqualTo(1024);
        }

        @Test
        void shiftIs3() {
            assertThat(pipeline.shift()).isEqualTo(TimeShift.of(3.0));
        }

        @Test
        void samplerIsEuler() {
            assertThat(pipeline.sampler().name()).isEqualTo("euler");
        }

        @Test
        void scheduleIsFlowMatch() {
            assertThat(pipeline.schedule()).isSameAs(Schedule.flowMatch());
        }

        @Test
        void noSeed() {
            assertThat(pipeline.seed()).isEmpty();
        }

        @Test
        void noSkipLayerGuidance() {
            assertThat(pipeline.skipLayerGuidance()).isEmpty();
        }

        @Test
        void latentFormatIsSd3WithoutAVae() {
            assertThat(pipeline.latentFormat()).isEqualTo(LatentFormat.SD3);
        }

        @Test
        void latentFormatComesFromTheVae() {
            LatentFormat format = new LatentFormat(4, 8, 0.18215, 0);

            Sd3Pipeline withVae = builder().vae(new IdentityVae(format)).build();

            assertThat(withVae.latentFormat()).isEqualTo(format);
        }

        @Test
        void modelNameIsTheDenoisersName() {
            Sd3Pipeline named = Sd3Pipeline.builder()
                    .denoiser(FakeDenoiser.builder().name("sd3_medium").build()).build();

            assertThat(named.modelName()).isEqualTo("sd3_medium");
        }

        @Test
        void modelNameFallsBackToTheClassWhenTheDenoiserHasNoName() {
            Denoiser mock = mock(Denoiser.class);
            when(mock.name()).thenReturn(null);

            Sd3Pipeline pipeline = Sd3Pipeline.builder().denoiser(mock).build();

            assertThat(pipeline.modelName()).isNotBlank().isEqualTo(mock.getClass().getSimpleName());
        }

        @Test
        void explicitModelNameWins() {
            assertThat(builder().modelName("my-model").build().modelName()).isEqualTo("my-model");
        }

        @Test
        void toStringKeepsToSettings() {
            assertThat(builder().build().toString())
                    .isEqualTo("Sd3Pipeline[model=fake-denoiser, encoders=[], sampler=euler, steps=28, shift=3.0,"
                            + " guidance=7.0, size=1024x1024]");
        }
    }

    @Nested
    class Steps {
        @ParameterizedTest
        @ValueSource(ints = {0, -1, Integer.MIN_VALUE})
        void belowOneIsRejected(int steps) {
            assertThatThrownBy(() -> builder().steps(steps))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("steps must be >= 1, found " + steps);
        }

        @Test
        void oneIsAccepted() {
            assertThat(builder().steps(1).build().steps()).isEqualTo(1);
        }
    }

    @Nested
    class Size {
        @ParameterizedTest
        @ValueSource(ints = {0, -16, 1000, 8, 17})
        void widthNotAPositiveMultipleOf16IsRejected(int width) {
            assertThatThrownBy(() -> builder().size(width, 64))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("width must be a positive multiple of 16, found " + width);
        }

        @ParameterizedTest
        @ValueSource(ints = {0, -16, 1000, 8, 17})
        void heightNotAPositiveMultipleOf16IsRejected(int height) {
            assertThatThrownBy(() -> builder().size(64, height))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("height must be a positive multiple of 16, found " + height);
        }

        @Test
        void multiplesOf16AreAccepted() {
            Sd3Pipeline pipeline = builder().size(16, 1008).build();

            assertThat(pipeline.width()).isEqualTo(16);
            assertThat(pipeline.height()).isEqualTo(1008);
        }
    }

    @Nested
    class Guidance {
        @ParameterizedTest
        @ValueSource(doubles = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY})
        void nonFiniteIsRejected(double guidance) {
            assertThatThrownBy(() -> builder().guidance(guidance))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("guidance must be finite, found " + guidance);
        }

        @Test
        void messageSpellsNaN() {
            assertThatThrownBy(() -> builder().guidance(Double.NaN)).hasMessage("guidance must be finite, found NaN");
        }

        @ParameterizedTest
        @ValueSource(doubles = {0.0, 1.0, 4.5, -2.0})
        void finiteIsAccepted(double guidance) {
            assertThat(builder().guidance(guidance).build().guidance()).isEqualTo(guidance);
        }
    }

    @Nested
    class Shift {
        @ParameterizedTest
        @ValueSource(doubles = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0.0, -1.0})
        void nonFiniteOrNotPositiveIsRejected(double shift) {
            assertThatThrownBy(() -> builder().shift(shift))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("shift must be finite and > 0, found " + shift);
        }

        @Test
        void messageForZero() {
            assertThatThrownBy(() -> builder().shift(0.0)).hasMessage("shift must be finite and > 0, found 0.0");
        }

        @Test
        void nullTimeShiftIsRejected() {
            assertThatThrownBy(() -> builder().shift((TimeShift) null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("shift must be non-null, found null");
        }

        @Test
        void dynamicShiftIsKept() {
            assertThat(builder().shift(TimeShift.dynamic(0.5)).build().shift()).isEqualTo(TimeShift.dynamic(0.5));
        }
    }

    @Nested
    class Sampler {
        @Test
        void unknownNameListsTheAvailableOnes() {
            assertThatThrownBy(() -> builder().sampler("no_such_sampler"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sampler must be one of " + Samplers.availableNames() + ", found 'no_such_sampler'."
                            + " A sampler from another jar is found when that jar is on the class path and lists its"
                            + " class in META-INF/services/org.sd3j.sampler.Sampler.");
        }

        @Test
        void unknownNameMessageNamesTheBuiltIns() {
            assertThatThrownBy(() -> builder().sampler("no_such_sampler"))
                    .hasMessageContainingAll("dpmpp_2m", "euler", "euler_stochastic", "heun");
        }

        @Test
        void knownNameIsLookedUpCaseInsensitively() {
            assertThat(builder().sampler("HEUN").build().sampler().name()).isEqualTo("heun");
        }

        @Test
        void nullInstanceIsRejected() {
            assertThatThrownBy(() -> builder().sampler((org.sd3j.sampler.Sampler) null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("sampler must be non-null, found null");
        }
    }

    @Nested
    class Components {
        @Test
        void nullEncoderArrayIsRejected() {
            assertThatThrownBy(() -> builder().encoders((org.sd3j.model.TextEncoder[]) null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("encoders must be non-null, found null");
        }

        @Test
        void nullEncoderIsRejectedByIndex() {
            assertThatThrownBy(() -> builder().encoders(FakeTextEncoder.clipL(), null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("encoders[1] must be non-null, found null");
        }

        @Test
        void nullDenoiserIsRejected() {
            assertThatThrownBy(() -> Sd3Pipeline.builder().denoiser(null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("denoiser must be non-null, found null");
        }

        @Test
        void nullVaeIsRejected() {
            assertThatThrownBy(() -> builder().vae(null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("vae must be non-null, found null");
        }

        @Test
        void nullListenerIsRejected() {
            assertThatThrownBy(() -> builder().listener(null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("listener must be non-null, found null");
        }
    }

    @Nested
    class Build {
        @Test
        void withoutADenoiserFails() {
            assertThatThrownBy(() -> Sd3Pipeline.builder().encoders(FakeTextEncoder.clipL()).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("denoiser must be set, found none");
        }

        @Test
        void generateWithoutADenoiserFails() {
            assertThatThrownBy(() -> Sd3Pipeline.builder().generate("a red fox"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("denoiser must be set, found none");
        }

        @Test
        void skipLayerGuidanceNeedsABlockSkippingDenoiser() {
            assertThatThrownBy(() -> builder().skipLayerGuidance(SkipLayerGuidance.diffusersDefaults()).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("denoiser must be a BlockSkippingDenoiser for skip-layer guidance, found "
                            + FakeDenoiser.class.getName());
        }

        @Test
        void skipLayerGuidanceBlockMustExist() {
            Sd3Pipeline.Builder b = Sd3Pipeline.builder()
                    .denoiser(FakeDenoiser.builder().blockCount(12).buildBlockSkipping())
                    .skipLayerGuidance(new SkipLayerGuidance(Set.of(12), 2.8, 0.01, 0.2));

            assertThatThrownBy(b::build)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("skipLayerGuidance blocks must be in [0, 12), found [12]");
        }

        @Test
        void skipLayerGuidanceWithBlocksInRangeBuilds() {
            Sd3Pipeline pipeline = Sd3Pipeline.builder()
                    .denoiser(FakeDenoiser.builder().blockCount(12).buildBlockSkipping())
                    .skipLayerGuidance(SkipLayerGuidance.diffusersDefaults())
                    .build();

            assertThat(pipeline.skipLayerGuidance()).contains(SkipLayerGuidance.diffusersDefaults());
        }

        @Test
        void encoderRoleMustBeInTheLayout() {
            ConditioningLayout clipOnly = ConditioningLayout.builder()
                    .slot(EncoderRole.CLIP_L, 5, 8, 8).slot(EncoderRole.CLIP_G, 5, 12, 12).contextDim(24).build();

            assertThatThrownBy(() -> builder().layout(clipOnly).encoders(Fixtures.t5()).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("encoder role must be one of the layout's [clip_l, clip_g], found t5xxl");
        }

        @Test
        void twoEncodersForOneRoleAreRejected() {
            assertThatThrownBy(() -> builder().layout(Fixtures.LAYOUT)
                    .encoders(Fixtures.clipL(), Fixtures.clipL()).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("encoders must be one per role, found two for clip_l");
        }

        @Test
        void latentFormatMustAgreeWithTheVae() {
            LatentFormat other = new LatentFormat(4, 8, 0.18215, 0);

            assertThatThrownBy(() -> builder().vae(new IdentityVae()).latentFormat(other).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("latentFormat must be the VAE's " + LatentFormat.SD3 + ", found " + other);
        }
    }

    @Nested
    class ToBuilder {
        private final FakeDenoiser denoiser = FakeDenoiser.zero();
        private final IdentityVae vae = new IdentityVae();
        private final RecordingListener listener = new RecordingListener();
        private final Sd3Pipeline original = Fixtures.pipeline(denoiser)
                .vae(vae).listener(listener).guidance(4.5).shift(2.0).sampler("heun").modelName("m")
                .build();

        @Test
        void keepsEverySetting() {
            Sd3Pipeline copy = original.toBuilder().build();

            assertThat(copy.steps()).isEqualTo(4);
            assertThat(copy.guidance()).isEqualTo(4.5);
            assertThat(copy.shift()).isEqualTo(TimeShift.of(2.0));
            assertThat(copy.sampler().name()).isEqualTo("heun");
            assertThat(copy.width()).isEqualTo(64);
            assertThat(copy.height()).isEqualTo(64);
            assertThat(copy.seed()).hasValue(42);
            assertThat(copy.listener()).isSameAs(listener);
            assertThat(copy.modelName()).isEqualTo("m");
            assertThat(copy.latentFormat()).isEqualTo(LatentFormat.SD3);
            assertThat(copy.toString()).isEqualTo(original.toString());
        }

        @Test
        void keepsTheComponents() {
            Sd3Pipeline copy = original.toBuilder().build();

            assertThat(copy.denoiser()).isSameAs(denoiser);
            assertThat(copy.vae()).containsSame(vae);
            assertThat(copy.promptEncoder().layout()).isSameAs(Fixtures.LAYOUT);
            assertThat(copy.promptEncoder().encoders().keySet())
                    .containsExactly(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5);
        }

        @Test
        void changesOnlyWhatIsSet() {
            Sd3Pipeline copy = original.toBuilder().steps(9).build();

            assertThat(copy.steps()).isEqualTo(9);
            assertThat(copy.guidance()).isEqualTo(4.5);
        }

        @Test
        void leavesTheOriginalUnchanged() {
            original.toBuilder().steps(9).guidance(2.0).size(128, 128).build();

            assertThat(original.steps()).isEqualTo(4);
            assertThat(original.guidance()).isEqualTo(4.5);
            assertThat(original.width()).isEqualTo(64);
        }

        @Test
        void aDerivedLatentFormatFollowsANewVae() {
            LatentFormat sd1 = new LatentFormat(4, 8, 0.18215, 0);

            Sd3Pipeline copy = original.toBuilder().vae(new IdentityVae(sd1)).build();

            assertThat(copy.latentFormat()).isEqualTo(sd1);
        }

        @Test
        void anExplicitLatentFormatIsKept() {
            LatentFormat sd1 = new LatentFormat(4, 8, 0.18215, 0);
            Sd3Pipeline vaeLess = builder().latentFormat(sd1).build();

            assertThat(vaeLess.toBuilder().build().latentFormat()).isEqualTo(sd1);
        }

        @Test
        void aDerivedModelNameFollowsANewDenoiser() {
            Sd3Pipeline named = builder().build();

            Sd3Pipeline copy = named.toBuilder().denoiser(FakeDenoiser.builder().name("other").build()).build();

            assertThat(copy.modelName()).isEqualTo("other");
        }

        @Test
        void anExplicitModelNameIsKeptWithANewDenoiser() {
            Sd3Pipeline copy = original.toBuilder().denoiser(FakeDenoiser.builder().name("other").build()).build();

            assertThat(copy.modelName()).isEqualTo("m");
        }

        @Test
        void changingTheEncodersOfTheCopyLeavesTheOriginalsAlone() {
            Sd3Pipeline copy = original.toBuilder().encoders(Fixtures.t5()).build();

            assertThat(copy.promptEncoder().encoders().keySet()).containsExactly(EncoderRole.T5);
            assertThat(original.promptEncoder().encoders()).hasSize(3);
        }
    }
}
