package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.lora.LoraCapable;
import org.sd3j.lora.LoraRequest;
import org.sd3j.model.Denoiser;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeDenoiser;
import org.sd3j.testing.FakeTextEncoder;

/** How the pipeline selects and applies switchable LoRAs ({@link LoraCapable}), with test doubles. */
class LoraSelectionTest {
    private static final Path FOX = Path.of("loras", "fox.safetensors");
    private static final Path SNOW = Path.of("snow.safetensors");

    /** v = factor * x, where a LoRA view adds the sum of its weights to the factor; records what it was given. */
    static final class LoraDenoiser implements Denoiser, LoraCapable<Denoiser> {
        final double factor;
        final Map<Path, Set<String>> parts;
        final List<List<LoraRequest>> requests = new ArrayList<>();

        LoraDenoiser(double factor, Map<Path, Set<String>> parts) {
            this.factor = factor;
            this.parts = parts;
        }

        @Override
        public Tensor velocity(Tensor latents, Tensor timesteps, Conditioning conditioning) {
            return latents.copy().scale((float) factor);
        }

        @Override
        public Applied<Denoiser> withLoras(List<LoraRequest> loras) {
            requests.add(loras);
            double sum = loras.stream().mapToDouble(LoraRequest::weight).sum();
            Map<Path, Set<String>> found = new LinkedHashMap<>();
            loras.forEach(l -> found.put(l.file(), parts.getOrDefault(l.file(), Set.of(LoraCapable.DENOISER))));
            return new Applied<>(new LoraDenoiser(factor + sum, parts), found);
        }
    }

    /** A CLIP-L encoder whose LoRA view encodes like another role's fake (different features). */
    static final class LoraEncoder implements TextEncoder, LoraCapable<TextEncoder> {
        final FakeTextEncoder base = Fixtures.clipL();
        final List<List<LoraRequest>> requests = new ArrayList<>();

        @Override
        public EncoderRole role() {
            return base.role();
        }

        @Override
        public EncodedText encode(List<String> prompts) {
            return base.encode(prompts);
        }

        @Override
        public Applied<TextEncoder> withLoras(List<LoraRequest> loras) {
            requests.add(loras);
            return new Applied<>(base, Map.of());
        }
    }

    private static Sd3Pipeline.Builder pipeline(Denoiser denoiser) {
        return Fixtures.pipeline(denoiser).guidance(1.0).steps(2);
    }

    @Nested
    class WithoutLoraSupport {
        @Test
        void aPipelineLoraOnAPlainDenoiserFailsToBuild() {
            assertThatThrownBy(() -> pipeline(FakeDenoiser.zero()).lora(FOX, 0.8).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("denoiser must be a LoraCapable denoiser to apply LoRAs [" + FOX + "], found"
                            + " org.sd3j.testing.FakeDenoiser");
        }

        @Test
        void aRequestLoraOnAPlainDenoiserFailsToGenerate() {
            Sd3Pipeline p = pipeline(FakeDenoiser.zero()).build();

            assertThatThrownBy(() -> p.generate(GenerationRequest.builder("a fox").lora(SNOW, 1).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("denoiser must be a LoraCapable denoiser to apply LoRAs [" + SNOW + "], found"
                            + " org.sd3j.testing.FakeDenoiser");
        }

        @Test
        void weightZeroNeedsNoLoraSupport() {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            pipeline(denoiser).lora(FOX, 0).build().generate("a fox");

            assertThat(denoiser.callCount()).isEqualTo(2);
        }
    }

    @Nested
    class Selection {
        @Test
        void thePipelinesLorasApplyToEveryGeneration() {
            LoraDenoiser d = new LoraDenoiser(0.5, Map.of());
            Sd3Pipeline p = pipeline(d).lora(FOX, 0.8).lora(SNOW, -0.3).build();

            GenerationResult r = p.generate("a fox");

            assertThat(d.requests).containsExactly(List.of(new LoraRequest(FOX, 0.8), new LoraRequest(SNOW, -0.3)));
            assertThat(r.parameters(0)).startsWith("a fox <lora:fox:0.8> <lora:snow:-0.3>\n");
        }

        @Test
        void aRequestsLorasReplaceThePipelines() {
            LoraDenoiser d = new LoraDenoiser(0.5, Map.of());
            Sd3Pipeline p = pipeline(d).lora(FOX, 0.8).build();

            p.generate(GenerationRequest.builder("a fox").lora(SNOW, 2).build());
            GenerationResult none = p.generate(GenerationRequest.builder("a fox").loras(List.of()).build());

            assertThat(d.requests).containsExactly(List.of(new LoraRequest(SNOW, 2)));
            assertThat(none.parameters(0)).startsWith("a fox\n");
        }

        @Test
        void weightZeroIsLeftOutSoTheModelIsUnchanged() {
            LoraDenoiser d = new LoraDenoiser(0.5, Map.of());
            Sd3Pipeline p = pipeline(d).build();

            GenerationResult base = p.generate("a fox");
            GenerationResult zero = p.generate(GenerationRequest.builder("a fox").lora(FOX, 0).build());
            GenerationResult some = p.generate(GenerationRequest.builder("a fox").lora(FOX, 0).lora(SNOW, 1).build());

            assertThat(d.requests).containsExactly(List.of(new LoraRequest(SNOW, 1)));
            assertThat(Fixtures.bitIdentical(zero.latents(), base.latents())).isTrue();
            assertThat(some.latents().maxAbsDiff(base.latents())).isGreaterThan(0);
            assertThat(zero.parameters(0)).startsWith("a fox\n");
        }

        @Test
        void mergedLorasAreRecordedButNotApplied() {
            LoraDenoiser d = new LoraDenoiser(0.5, Map.of());

            GenerationResult r = pipeline(d).mergedLoras(List.of(new LoraRequest(FOX, 1))).lora(SNOW, 0.5).build()
                    .generate("a fox");

            assertThat(d.requests).containsExactly(List.of(new LoraRequest(SNOW, 0.5)));
            assertThat(r.parameters(0)).startsWith("a fox <lora:fox:1.0> <lora:snow:0.5>\n");
        }
    }

    @Nested
    class TextEncoderParts {
        @Test
        void capableEncodersGetTheLorasToo() {
            LoraDenoiser d = new LoraDenoiser(0.5, Map.of(FOX, Set.of("denoiser", "clip_l")));
            LoraEncoder clipL = new LoraEncoder();

            Sd3Pipeline.builder().layout(Fixtures.LAYOUT).encoders(clipL, Fixtures.clipG()).denoiser(d)
                    .size(64, 64).steps(1).guidance(1).lora(FOX, 1).build().generate("a fox");

            assertThat(clipL.requests).containsExactly(List.of(new LoraRequest(FOX, 1)));
        }

        @Test
        void aPartNoComponentCanAdaptFails() {
            LoraDenoiser d = new LoraDenoiser(0.5, Map.of(FOX, Set.of("denoiser", "clip_g")));
            Sd3Pipeline p = pipeline(d).lora(FOX, 1).build();

            assertThatThrownBy(() -> p.generate("a fox"))
                    .isInstanceOf(Sd3Exception.class)
                    .hasMessage("LoRA " + FOX + " adapts clip_g, but the pipeline's clip_g encoder"
                            + " (org.sd3j.testing.FakeTextEncoder) cannot apply LoRAs per generation (it does not"
                            + " implement LoraCapable); merge the LoRA into the model's weights when loading it"
                            + " instead");
        }

        @Test
        void aPartOfAMissingEncoderFails() {
            LoraDenoiser d = new LoraDenoiser(0.5, Map.of(FOX, Set.of("clip_g")));
            Sd3Pipeline p = Sd3Pipeline.builder().layout(Fixtures.LAYOUT).encoders(Fixtures.clipL()).denoiser(d)
                    .size(64, 64).steps(1).lora(FOX, 1).build();

            assertThatThrownBy(() -> p.generate("a fox"))
                    .isInstanceOf(Sd3Exception.class)
                    .hasMessage("LoRA " + FOX + " adapts clip_g, but the pipeline has no clip_g encoder");
        }
    }

    @Test
    void requestsAndBuildersCheckTheirArguments() {
        assertThatThrownBy(() -> GenerationRequest.builder("p").lora(FOX, Double.NaN))
                .hasMessage("weight must be finite, found NaN");
        assertThatThrownBy(() -> GenerationRequest.builder("p").lora(null, 1))
                .hasMessage("file must be non-null, found null");
        assertThatThrownBy(() -> Sd3Pipeline.builder().loras(java.util.Arrays.asList((LoraRequest) null)))
                .hasMessage("loras[0] must be non-null, found null");
        assertThat(GenerationRequest.of("p").loras()).isEmpty();
        assertThat(GenerationRequest.builder("p").lora(FOX, 1).build().toBuilder().build().loras())
                .contains(List.of(new LoraRequest(FOX, 1)));
        assertThat(new LoraRequest(FOX, 1).name()).isEqualTo("fox");
    }
}
