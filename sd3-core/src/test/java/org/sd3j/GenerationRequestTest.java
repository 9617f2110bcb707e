package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sd3j.image.Image;
import org.sd3j.model.EncoderRole;
import org.sd3j.sampler.Samplers;
import org.sd3j.schedule.TimeShift;

class GenerationRequestTest {
    private static final Image IMAGE = Fixtures.solid(64, 64, 100);
    private static final Image MASK = Fixtures.leftMask(64, 64, 32);

    private static GenerationRequest.Builder request() {
        return GenerationRequest.builder("a red fox");
    }

    @Nested
    class Defaults {
        private final GenerationRequest request = GenerationRequest.of("a red fox");

        @Test
        void keepsThePrompt() {
            assertThat(request.prompt()).isEqualTo("a red fox");
        }

        @Test
        void negativePromptIsEmpty() {
            assertThat(request.negativePrompt()).isEmpty();
        }

        @Test
        void batchSizeIsOne() {
            assertThat(request.batchSize()).isEqualTo(1);
        }

        @Test
        void everyPipelineSettingIsUnset() {
            assertThat(request.width()).isEmpty();
            assertThat(request.height()).isEmpty();
            assertThat(request.steps()).isEmpty();
            assertThat(request.guidance()).isEmpty();
            assertThat(request.seed()).isEmpty();
            assertThat(request.sampler()).isEmpty();
            assertThat(request.shift()).isEmpty();
            assertThat(request.initImage()).isEmpty();
            assertThat(request.mask()).isEmpty();
            assertThat(request.promptOverrides()).isEmpty();
        }

        @Test
        void img2imgStrengthIs06() {
            assertThat(request().initImage(IMAGE).build().strength()).isEqualTo(0.6);
        }

        @Test
        void inpaintingStrengthIs1() {
            assertThat(request().initImage(IMAGE).mask(MASK).build().strength()).isEqualTo(1.0);
        }

        @Test
        void toStringLeavesThePromptOut() {
            GenerationRequest r = request().negativePrompt("secret negative").seed(3).build();

            assertThat(r.toString()).doesNotContain("a red fox").doesNotContain("secret")
                    .isEqualTo("GenerationRequest[batch=1, size=nullxnull, steps=null, guidance=null, seed=3,"
                            + " sampler=null, shift=null]");
        }
    }

    @Nested
    class Prompt {
        @Test
        void nullIsRejectedByOf() {
            assertThatThrownBy(() -> GenerationRequest.of(null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("prompt must be non-null, found null");
        }

        @Test
        void nullIsRejectedByTheBuilder() {
            assertThatThrownBy(() -> request().prompt(null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("prompt must be non-null, found null");
        }

        @Test
        void nullIsRejectedByThePipeline() {
            Sd3Pipeline pipeline = Sd3Pipeline.builder().denoiser(org.sd3j.testing.FakeDenoiser.zero()).build();

            assertThatThrownBy(() -> pipeline.generate((String) null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("prompt must be non-null, found null");
        }

        @Test
        void nullRequestIsRejectedByThePipeline() {
            Sd3Pipeline pipeline = Sd3Pipeline.builder().denoiser(org.sd3j.testing.FakeDenoiser.zero()).build();

            assertThatThrownBy(() -> pipeline.generate((GenerationRequest) null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("request must be non-null, found null");
        }

        @Test
        void emptyIsAccepted() {
            assertThat(GenerationRequest.of("").prompt()).isEmpty();
        }

        @Test
        void nullNegativeIsRejected() {
            assertThatThrownBy(() -> request().negativePrompt(null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("negativePrompt must be non-null, found null");
        }

        @Test
        void nullOverrideIsRejected() {
            assertThatThrownBy(() -> request().prompt(EncoderRole.T5, null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("prompt for t5xxl must be non-null, found null");
        }

        @Test
        void overrideWithoutRoleIsRejected() {
            assertThatThrownBy(() -> request().prompt(null, "x"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("role must be non-null, found null");
        }

        @Test
        void overridesAreKeptByRole() {
            GenerationRequest r = request().prompt(EncoderRole.T5, "long").prompt(EncoderRole.CLIP_G, "short").build();

            assertThat(r.promptOverrides()).containsExactly(
                    java.util.Map.entry(EncoderRole.T5, "long"), java.util.Map.entry(EncoderRole.CLIP_G, "short"));
        }

        @Test
        void overridesAreUnmodifiable() {
            GenerationRequest r = request().prompt(EncoderRole.T5, "long").build();

            assertThatThrownBy(() -> r.promptOverrides().put(EncoderRole.CLIP_L, "x"))
                    .isInstanceOf(UnsupportedOperationException.class);
        }
    }

    @Nested
    class Size {
        @ParameterizedTest
        @ValueSource(ints = {0, -16, 1000, 8})
        void widthNotAPositiveMultipleOf16IsRejected(int width) {
            assertThatThrownBy(() -> request().size(width, 64))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("width must be a positive multiple of 16, found " + width);
        }

        @ParameterizedTest
        @ValueSource(ints = {0, -16, 1000, 8})
        void heightNotAPositiveMultipleOf16IsRejected(int height) {
            assertThatThrownBy(() -> request().size(64, height))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("height must be a positive multiple of 16, found " + height);
        }

        @Test
        void isKept() {
            GenerationRequest r = request().size(32, 48).build();

            assertThat(r.width()).hasValue(32);
            assertThat(r.height()).hasValue(48);
        }

        @Test
        void mustMatchTheInitImage() {
            assertThatThrownBy(() -> request().size(32, 32).initImage(IMAGE).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("initImage must be 32x32 to match the requested size, found 64x64");
        }
    }

    @Nested
    class Settings {
        @ParameterizedTest
        @ValueSource(ints = {0, -5})
        void stepsBelowOneAreRejected(int steps) {
            assertThatThrownBy(() -> request().steps(steps))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("steps must be >= 1, found " + steps);
        }

        @ParameterizedTest
        @ValueSource(doubles = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY})
        void nonFiniteGuidanceIsRejected(double guidance) {
            assertThatThrownBy(() -> request().guidance(guidance))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("guidance must be finite, found " + guidance);
        }

        @ParameterizedTest
        @ValueSource(doubles = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0.0, -3.0})
        void badShiftIsRejected(double shift) {
            assertThatThrownBy(() -> request().shift(shift))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("shift must be finite and > 0, found " + shift);
        }

        @ParameterizedTest
        @ValueSource(ints = {0, -1})
        void batchBelowOneIsRejected(int batch) {
            assertThatThrownBy(() -> request().batchSize(batch))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("batchSize must be >= 1, found " + batch);
        }

        @Test
        void unknownSamplerNameIsRejected() {
            assertThatThrownBy(() -> request().sampler("nope"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("sampler must be one of " + Samplers.availableNames() + ", found 'nope'.");
        }

        @Test
        void everySettingIsKept() {
            GenerationRequest r = request().negativePrompt("blurry").steps(7).guidance(3.5).seed(-9).batchSize(3)
                    .sampler("heun").shift(2.0).build();

            assertThat(r.negativePrompt()).isEqualTo("blurry");
            assertThat(r.steps()).hasValue(7);
            assertThat(r.guidance()).hasValue(3.5);
            assertThat(r.seed()).hasValue(-9);
            assertThat(r.batchSize()).isEqualTo(3);
            assertThat(r.sampler().orElseThrow().name()).isEqualTo("heun");
            assertThat(r.shift()).contains(TimeShift.of(2.0));
        }
    }

    @Nested
    class Strength {
        @ParameterizedTest
        @ValueSource(doubles = {0.0, -0.1, 1.5, 1.0000001, Double.NaN, Double.POSITIVE_INFINITY})
        void outsideZeroToOneIsRejected(double strength) {
            assertThatThrownBy(() -> request().initImage(IMAGE, strength))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("strength must be in (0, 1], found " + strength);
        }

        @Test
        void messageForZero() {
            assertThatThrownBy(() -> request().strength(0)).hasMessage("strength must be in (0, 1], found 0.0");
        }

        @ParameterizedTest
        @ValueSource(doubles = {1e-9, 0.6, 1.0})
        void insideIsKept(double strength) {
            assertThat(request().initImage(IMAGE, strength).build().strength()).isEqualTo(strength);
        }

        @Test
        void needsAnInitImage() {
            assertThatThrownBy(() -> request().strength(0.5).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("initImage must be set when a strength is given, found none");
        }

        @Test
        void nullInitImageIsRejected() {
            assertThatThrownBy(() -> request().initImage(null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("initImage must be non-null, found null");
        }
    }

    @Nested
    class Mask {
        @Test
        void needsAnInitImage() {
            assertThatThrownBy(() -> request().mask(MASK).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("initImage must be set when a mask is given, found none");
        }

        @Test
        void mustMatchTheInitImageSize() {
            assertThatThrownBy(() -> request().initImage(IMAGE).mask(Fixtures.solid(32, 64, 255)).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("mask must be 64x64 to match the init image, found 32x64");
        }

        @Test
        void nullIsRejected() {
            assertThatThrownBy(() -> request().mask(null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("mask must be non-null, found null");
        }

        @Test
        void isKeptWithItsInitImage() {
            GenerationRequest r = request().initImage(IMAGE).mask(MASK).build();

            assertThat(r.mask()).containsSame(MASK);
            assertThat(r.initImage()).containsSame(IMAGE);
        }
    }

    @Nested
    class ToBuilder {
        private final GenerationRequest original = request().negativePrompt("blurry").prompt(EncoderRole.T5, "long")
                .size(64, 64).steps(7).guidance(3.5).seed(5).batchSize(2).sampler("heun").shift(2.0)
                .initImage(IMAGE, 0.8).mask(MASK).build();

        @Test
        void copiesEverySetting() {
            GenerationRequest copy = original.toBuilder().build();

            assertThat(copy).usingRecursiveComparison().isEqualTo(original);
        }

        @Test
        void changesOnlyWhatIsSet() {
            GenerationRequest copy = original.toBuilder().seed(6).build();

            assertThat(copy.seed()).hasValue(6);
            assertThat(copy.steps()).hasValue(7);
            assertThat(copy.strength()).isEqualTo(0.8);
        }

        @Test
        void leavesTheOriginalUnchanged() {
            original.toBuilder().prompt("other").prompt(EncoderRole.CLIP_L, "x").seed(6).build();

            assertThat(original.prompt()).isEqualTo("a red fox");
            assertThat(original.seed()).hasValue(5);
            assertThat(original.promptOverrides()).containsOnlyKeys(EncoderRole.T5);
        }

        @Test
        void revalidatesOnBuild() {
            assertThatThrownBy(() -> original.toBuilder().size(32, 32).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("initImage must be 32x32 to match the requested size, found 64x64");
        }
    }
}
