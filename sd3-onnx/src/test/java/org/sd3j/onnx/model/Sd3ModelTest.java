package org.sd3j.onnx.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.GenerationResult;
import org.sd3j.ModelLoadException;
import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.sd3j.Sd3Pipeline;
import org.sd3j.onnx.clip.OnnxClipEncoder;
import org.sd3j.onnx.model.CombinedCheckpoint.Part;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.SafetensorsWriter;

class Sd3ModelTest {
    @TempDir
    Path dir;

    /** A fake tokenizer: BOS, a few ids from the prompt's length, EOS, padded to {@code length} with {@code pad}. */
    static Function<String, long[]> tokenizer(int length, long bos, long eos, long pad) {
        return prompt -> {
            long[] ids = new long[length];
            java.util.Arrays.fill(ids, pad);
            int i = 0;
            if (bos >= 0) {
                ids[i++] = bos;
            }
            for (int k = 0; k < Math.min(5, prompt.length()); k++) {
                ids[i++] = 10 + (prompt.charAt(k) % 50);
            }
            ids[i] = eos;
            return ids;
        };
    }

    static Sd3Model.Options withTokenizers(Sd3Model.Options o) {
        return o.withTokenizer(EncoderRole.CLIP_L, tokenizer(77, 998, 999, 999))
                .withTokenizer(EncoderRole.CLIP_G, tokenizer(77, 998, 999, 0))
                .withTokenizer(EncoderRole.T5, tokenizer(32, -1, 1, 0));
    }

    @Test
    void loadsEveryComponentOfASingleFileCheckpoint() throws Exception {
        Path ckpt = CombinedCheckpoint.write(dir, EnumSet.allOf(Part.class), n -> false);
        try (Sd3Model m = Sd3Model.load(ckpt, OnnxOptions.cpu(), withTokenizers(CombinedCheckpoint.options()))) {
            assertThat(m.format()).isEqualTo(Sd3Model.Format.CHECKPOINT);
            assertThat(m.encoders()).extracting(TextEncoder::role)
                    .containsExactly(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5);
            assertThat(m.vae()).isPresent();
            assertThat(m.shift()).isEqualTo(3.0);
            ConditioningLayout l = m.layout();
            assertThat(l.slot(EncoderRole.CLIP_L).orElseThrow()).isEqualTo(
                    new ConditioningLayout.Slot(EncoderRole.CLIP_L, 77, 64, 64));
            assertThat(l.slot(EncoderRole.CLIP_G).orElseThrow()).isEqualTo(
                    new ConditioningLayout.Slot(EncoderRole.CLIP_G, 77, 96, 96));
            assertThat(l.slot(EncoderRole.T5).orElseThrow()).isEqualTo(
                    new ConditioningLayout.Slot(EncoderRole.T5, 256, 192, 0));
            assertThat(l.contextDim()).isEqualTo(CombinedCheckpoint.CONTEXT_DIM);
            assertThat(l.pooledDim()).isEqualTo(CombinedCheckpoint.POOLED_DIM);

            GenerationResult r = m.pipelineBuilder().steps(2).size(64, 64).seed(7).build().generate("a cat");
            assertThat(r.images()).hasSize(1);
        }
    }

    @Test
    void missingEncodersAreAbsentAndTheLayoutStillFitsTheDenoiser() throws Exception {
        Path ckpt = CombinedCheckpoint.write(dir, EnumSet.of(Part.CLIP_G), n -> false);
        try (Sd3Model m = Sd3Model.load(ckpt, OnnxOptions.cpu(), withTokenizers(CombinedCheckpoint.options()))) {
            assertThat(m.encoders()).extracting(TextEncoder::role).containsExactly(EncoderRole.CLIP_G);
            assertThat(m.encoder(EncoderRole.T5)).isEmpty();
            assertThat(m.vae()).isEmpty();
            assertThat(m.layout().slot(EncoderRole.CLIP_L).orElseThrow().pooled()).isEqualTo(64);
            assertThat(m.layout().slot(EncoderRole.T5).orElseThrow().features()).isEqualTo(192);
            GenerationResult r = m.pipelineBuilder().steps(1).size(64, 64).seed(7).build().generate("a cat");
            assertThat(r.latents().shape()).containsExactly(1, 16, 8, 8);
        }
    }

    @Test
    void aPartialEncoderNamesTheMissingTensor() throws Exception {
        String missing = "text_encoders.clip_l.transformer.text_model.encoder.layers.1.mlp.fc2.weight";
        Path ckpt = CombinedCheckpoint.write(dir, EnumSet.of(Part.CLIP_L, Part.CLIP_G), missing::equals);
        for (boolean lowMemory : new boolean[] {false, true}) {
            assertThatThrownBy(() -> Sd3Model.load(ckpt, OnnxOptions.cpu(),
                    CombinedCheckpoint.options().withLowMemory(lowMemory)))
                    .as("lowMemory=" + lowMemory)
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessageContaining(missing);
        }
    }

    @Test
    void lowMemoryEncodersGiveTheSameFeaturesAsLoadedOnes() throws Exception {
        Path ckpt = CombinedCheckpoint.write(dir, EnumSet.allOf(Part.class), n -> false);
        try (Sd3Model eager = Sd3Model.load(ckpt, OnnxOptions.cpu(), withTokenizers(CombinedCheckpoint.options()));
             Sd3Model lazy = Sd3Model.load(ckpt, OnnxOptions.cpu(),
                     withTokenizers(CombinedCheckpoint.options().withLowMemory(true)))) {
            assertThat(lazy.lowMemory()).isTrue();
            assertThat(lazy.layout().slots()).isEqualTo(eager.layout().slots());
            for (EncoderRole role : List.of(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5)) {
                TextEncoder l = lazy.encoder(role).orElseThrow();
                assertThat(l).isInstanceOf(LoadOnUseEncoder.class);
                EncodedText a = eager.encoder(role).orElseThrow().encode(List.of("a cat", "a dog"));
                EncodedText b = l.encode(List.of("a cat", "a dog"));
                EncodedText c = l.encode(List.of("a cat", "a dog")); // loads again after closing
                assertThat(b.tokens().maxAbsDiff(a.tokens())).isZero();
                assertThat(c.tokens().maxAbsDiff(a.tokens())).isZero();
                if (a.pooled() != null) {
                    assertThat(b.pooled().maxAbsDiff(a.pooled())).isZero();
                }
            }
        }
    }

    /** sd3_medium.safetensors without T5 + ComfyUI's t5xxl_fp16.safetensors: the same model as a combined file. */
    @Test
    void aStandaloneT5FileAddsTheEncoderACheckpointLacks() throws Exception {
        Path combined = CombinedCheckpoint.write(dir.resolve("combined"), EnumSet.allOf(Part.class), n -> false);
        Path noT5 = CombinedCheckpoint.write(dir.resolve("no-t5"), EnumSet.of(Part.CLIP_L, Part.CLIP_G, Part.VAE),
                n -> false);
        Path t5 = CombinedCheckpoint.golden("encoders/t5xxl/weights.safetensors"); // unprefixed, as standalone
        for (boolean lowMemory : new boolean[] {false, true}) {
            Sd3Model.Options o = withTokenizers(CombinedCheckpoint.options().withLowMemory(lowMemory));
            try (Sd3Model reference = Sd3Model.load(combined, OnnxOptions.cpu(), o);
                 Sd3Model without = Sd3Model.load(noT5, OnnxOptions.cpu(), o);
                 Sd3Model split = Sd3Model.load(noT5, OnnxOptions.cpu(), o.withEncoderFile(EncoderRole.T5, t5))) {
                assertThat(without.encoder(EncoderRole.T5)).isEmpty();
                assertThat(split.encoders()).extracting(TextEncoder::role)
                        .containsExactly(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5);
                assertThat(split.layout().slots()).isEqualTo(reference.layout().slots());
                List<String> prompts = List.of("a cat", "a dog");
                EncodedText a = reference.encoder(EncoderRole.T5).orElseThrow().encode(prompts);
                EncodedText b = split.encoder(EncoderRole.T5).orElseThrow().encode(prompts);
                assertThat(b.tokens().maxAbsDiff(a.tokens())).as("lowMemory=" + lowMemory).isZero();
                GenerationResult ra = reference.pipelineBuilder().steps(1).size(64, 64).seed(7).build().generate("x");
                GenerationResult rb = split.pipelineBuilder().steps(1).size(64, 64).seed(7).build().generate("x");
                assertThat(rb.latents().maxAbsDiff(ra.latents())).isZero();
            }
        }
    }

    @Test
    void aStandaloneClipFileReplacesTheCheckpointsEncoder() throws Exception {
        // The checkpoint's CLIP-L lacks a tensor; the standalone file (unprefixed transformers names) is whole.
        String missing = "text_encoders.clip_l.transformer.text_model.encoder.layers.1.mlp.fc2.weight";
        Path partial = CombinedCheckpoint.write(dir.resolve("partial"), EnumSet.of(Part.CLIP_L), missing::equals);
        Path whole = CombinedCheckpoint.write(dir.resolve("whole"), EnumSet.of(Part.CLIP_L), n -> false);
        Path clipL = CombinedCheckpoint.golden("encoders/clip_l/weights.safetensors");
        try (Sd3Model reference = Sd3Model.load(whole, OnnxOptions.cpu(), withTokenizers(CombinedCheckpoint.options()));
             Sd3Model m = Sd3Model.load(partial, OnnxOptions.cpu(),
                     withTokenizers(CombinedCheckpoint.options()).withEncoderFile(EncoderRole.CLIP_L, clipL))) {
            EncodedText a = reference.encoder(EncoderRole.CLIP_L).orElseThrow().encode(List.of("a cat"));
            EncodedText b = m.encoder(EncoderRole.CLIP_L).orElseThrow().encode(List.of("a cat"));
            assertThat(b.tokens().maxAbsDiff(a.tokens())).isZero();
            assertThat(b.pooled().maxAbsDiff(a.pooled())).isZero();
        }
    }

    @Test
    void aMissingOrWrongStandaloneEncoderFileIsAClearError() throws Exception {
        Path ckpt = CombinedCheckpoint.write(dir, EnumSet.of(Part.CLIP_L), n -> false);
        Path missing = dir.resolve("t5xxl_fp16.safetensors");
        assertThatThrownBy(() -> Sd3Model.load(ckpt, OnnxOptions.cpu(),
                CombinedCheckpoint.options().withEncoderFile(EncoderRole.T5, missing)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("t5xxl");
        // A CLIP file given as T5: the T5 loader says what it expected.
        Path clipL = CombinedCheckpoint.golden("encoders/clip_l/weights.safetensors");
        assertThatThrownBy(() -> Sd3Model.load(ckpt, OnnxOptions.cpu(),
                CombinedCheckpoint.options().withEncoderFile(EncoderRole.T5, clipL)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("T5");
        assertThatThrownBy(() -> Sd3Model.Options.defaults().withEncoderFile(
                EncoderRole.custom("other", EncoderRole.Kind.CLIP), missing))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void loadsADiffusersFolderWithItsShift() throws Exception {
        Path root = dir.resolve("diffusers");
        Files.createDirectories(root.resolve("transformer"));
        CombinedCheckpoint.mmdit(root.resolve("transformer").resolve("diffusion_pytorch_model.safetensors"));
        Files.createDirectories(root.resolve("text_encoder_2"));
        SafetensorsWriter g = SafetensorsWriter.create();
        CombinedCheckpoint.copy(CombinedCheckpoint.golden("encoders/clip_g_torch/checkpoint.safetensors"),
                "text_encoders.clip_g.transformer.", "", g, n -> false);
        g.write(root.resolve("text_encoder_2").resolve("model.safetensors"));
        Files.createDirectories(root.resolve("text_encoder_3"));
        Files.copy(CombinedCheckpoint.golden("encoders/t5xxl/weights.safetensors"),
                root.resolve("text_encoder_3").resolve("model.safetensors"));
        Files.createDirectories(root.resolve("vae"));
        Files.copy(CombinedCheckpoint.golden("vae/weights.safetensors"),
                root.resolve("vae").resolve("diffusion_pytorch_model.safetensors"));
        Files.createDirectories(root.resolve("scheduler"));
        Files.writeString(root.resolve("scheduler").resolve("scheduler_config.json"), "{\"shift\": 2.5}");
        try (Sd3Model m = Sd3Model.load(root, OnnxOptions.cpu(), CombinedCheckpoint.options())) {
            assertThat(m.recommendedGuidance()).isEmpty();
            assertThat(m.pipelineBuilder().build().guidance()).isEqualTo(Sd3Pipeline.DEFAULT_GUIDANCE);
        }
        Files.writeString(root.resolve("model_index.json"), "{\"_class_name\": \"StableDiffusion3Pipeline\", "
                + "\"_sd3j\": {\"guidance\": 2.5}}");

        try (Sd3Model m = Sd3Model.load(root, OnnxOptions.cpu(), CombinedCheckpoint.options())) {
            assertThat(m.recommendedGuidance()).hasValue(2.5);
            assertThat(m.pipelineBuilder().build().guidance()).isEqualTo(2.5);
            assertThat(m.format()).isEqualTo(Sd3Model.Format.DIFFUSERS);
            assertThat(m.shift()).isEqualTo(2.5);
            assertThat(m.encoders()).extracting(TextEncoder::role)
                    .containsExactly(EncoderRole.CLIP_G, EncoderRole.T5);
            assertThat(m.vae()).isPresent();
            assertThat(m.pipelineBuilder().build().shift().toString()).contains("2.5");
        }
    }

    @Test
    void aRecommendedGuidanceThatIsNoScaleIsAClearError() throws Exception {
        Path root = dir.resolve("folder");
        Files.createDirectories(root);
        Files.writeString(root.resolve("model_index.json"), "{\"_sd3j\": {\"guidance\": \"high\"}}");
        assertThatThrownBy(() -> SchedulerConfig.read(root))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("model_index.json")
                .hasMessageContaining("\"guidance\" must be a number, found \"high\"");
        Files.writeString(root.resolve("model_index.json"), "{\"_sd3j\": {\"guidance\": -1}}");
        assertThatThrownBy(() -> SchedulerConfig.read(root))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("must be a finite number >= 0, found -1");
        Files.writeString(root.resolve("model_index.json"), "{\"_sd3j\": {\"seed\": 1}}");
        assertThat(SchedulerConfig.read(root).guidance()).isEmpty();
    }

    @Test
    void aFolderWithoutTransformerIsAClearError() throws Exception {
        assertThatThrownBy(() -> Sd3Model.load(dir, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("transformer/");
    }

    @Test
    void closeIsIdempotentAndComponentsAreGoneAfterIt() throws Exception {
        Path ckpt = CombinedCheckpoint.write(dir, Set.of(Part.CLIP_L), n -> false);
        Sd3Model m = Sd3Model.load(ckpt, OnnxOptions.cpu(), CombinedCheckpoint.options()
                .withPooled(OnnxClipEncoder.PooledConvention.PROJECTED));
        m.close();
        m.close();
        assertThatThrownBy(m::denoiser).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }
}
