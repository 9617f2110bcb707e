package org.sd3j.onnx.convert;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.model.CombinedCheckpoint;
import org.sd3j.onnx.model.CombinedCheckpoint.Part;
import org.sd3j.onnx.model.Sd3Model;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.tensor.Tensor;

/** {@code convert} writes every component a checkpoint has, and the folder loads back with the same numbers. */
class FullConversionTest {
    @TempDir
    Path dir;

    static Sd3Model.Options tokenized() {
        return CombinedCheckpoint.options()
                .withTokenizer(EncoderRole.CLIP_L, p -> ids(77, 998, 999, 999, p))
                .withTokenizer(EncoderRole.CLIP_G, p -> ids(77, 998, 999, 0, p))
                .withTokenizer(EncoderRole.T5, p -> ids(24, -1, 1, 0, p));
    }

    static long[] ids(int n, long bos, long eos, long pad, String prompt) {
        long[] out = new long[n];
        java.util.Arrays.fill(out, pad);
        int i = 0;
        if (bos >= 0) {
            out[i++] = bos;
        }
        for (char c : prompt.toCharArray()) {
            out[i++] = 10 + c % 70;
        }
        out[i] = eos;
        return out;
    }

    static Tensor random(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Tensor.of(v, shape);
    }

    @Test
    void convertsEveryComponentAndTheFolderMatchesTheCheckpoint() throws Exception {
        Path ckpt = CombinedCheckpoint.write(dir, EnumSet.allOf(Part.class), n -> false);
        Path out = dir.resolve("onnx");

        CheckpointConverter.Result r = CheckpointConverter.convert(ckpt, out, CombinedCheckpoint.CLIP_HEADS);

        assertThat(r.components()).containsExactly("transformer", "text_encoder", "text_encoder_2",
                "text_encoder_3", "vae_encoder", "vae_decoder");
        for (String c : r.components()) {
            assertThat(out.resolve(c).resolve("model.onnx")).isNotEmptyFile();
        }
        JsonNode index = new ObjectMapper().readTree(out.resolve("model_index.json").toFile());
        assertThat(index.get("_class_name").asText()).isEqualTo("StableDiffusion3Pipeline");
        assertThat(index.get("text_encoder_3").get(1).asText()).isEqualTo("T5EncoderModel");
        assertThat(index.get("vae").get(1).asText()).isEqualTo("AutoencoderKL");
        assertThat(out.resolve("scheduler/scheduler_config.json")).isNotEmptyFile();
        try (GraphSession clip = GraphSession.load(out.resolve("text_encoder/model.onnx"), OnnxOptions.cpu());
             GraphSession t5 = GraphSession.load(out.resolve("text_encoder_3/model.onnx"), OnnxOptions.cpu());
             GraphSession dec = GraphSession.load(out.resolve("vae_decoder/model.onnx"), OnnxOptions.cpu());
             GraphSession enc = GraphSession.load(out.resolve("vae_encoder/model.onnx"), OnnxOptions.cpu())) {
            assertThat(clip.inputNames()).containsExactly("input_ids");
            assertThat(clip.outputNames()).contains("text_embeds", "last_hidden_state", "hidden_states.0",
                    "hidden_states.3");
            assertThat(t5.outputNames()).containsExactly("last_hidden_state");
            assertThat(dec.inputNames()).containsExactly("latent_sample");
            assertThat(dec.outputNames()).containsExactly("sample");
            assertThat(enc.inputNames()).containsExactly("sample");
            assertThat(enc.outputNames()).containsExactly("latent_parameters");
        }

        try (Sd3Model direct = Sd3Model.load(ckpt, OnnxOptions.cpu(), tokenized());
             Sd3Model onnx = Sd3Model.load(out, OnnxOptions.cpu(), tokenized())) {
            assertThat(onnx.format()).isEqualTo(Sd3Model.Format.ONNX);
            assertThat(onnx.layout().contextDim()).isEqualTo(direct.layout().contextDim());
            List<String> prompts = List.of("a red cube", "text");
            for (EncoderRole role : List.of(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5)) {
                EncodedText a = direct.encoder(role).orElseThrow().encode(prompts);
                EncodedText b = onnx.encoder(role).orElseThrow().encode(prompts);
                assertThat(b.tokens().maxAbsDiff(a.tokens())).as(role + " tokens").isLessThan(1e-4);
                if (a.pooled() != null) {
                    assertThat(b.pooled().maxAbsDiff(a.pooled())).as(role + " pooled").isLessThan(1e-4);
                }
            }
            Tensor latents = random(1, 1, 16, 8, 8);
            Tensor t = Tensor.of(new float[] {500f}, 1);
            Conditioning cond = new Conditioning(random(2, 1, 20, CombinedCheckpoint.CONTEXT_DIM),
                    random(3, 1, CombinedCheckpoint.POOLED_DIM));
            assertThat(onnx.denoiser().velocity(latents, t, cond)
                    .maxAbsDiff(direct.denoiser().velocity(latents, t, cond))).isLessThan(1e-4);
            Tensor decodedA = direct.vae().orElseThrow().decode(latents);
            Tensor decodedB = onnx.vae().orElseThrow().decode(latents);
            assertThat(decodedB.maxAbsDiff(decodedA)).isLessThan(1e-4);
            Tensor image = random(4, 1, 3, 64, 64);
            assertThat(onnx.vae().orElseThrow().encode(image).mean()
                    .maxAbsDiff(direct.vae().orElseThrow().encode(image).mean())).isLessThan(1e-4);
        }
        try (Sd3Model eager = Sd3Model.load(out, OnnxOptions.cpu(), tokenized());
             Sd3Model low = Sd3Model.load(out, OnnxOptions.cpu(), tokenized().withLowMemory(true))) {
            assertThat(low.layout().slots()).isEqualTo(eager.layout().slots());
            assertThat(eager.layout().slot(EncoderRole.CLIP_G).orElseThrow().features()).isEqualTo(96);
            EncodedText a = eager.encoder(EncoderRole.CLIP_G).orElseThrow().encode(List.of("x"));
            EncodedText b = low.encoder(EncoderRole.CLIP_G).orElseThrow().encode(List.of("x"));
            assertThat(b.pooled().maxAbsDiff(a.pooled())).isZero();
        }
    }

    @Test
    void absentComponentsAreAbsentFoldersAndNullEntries() throws Exception {
        Path ckpt = CombinedCheckpoint.write(dir, EnumSet.of(Part.CLIP_L, Part.CLIP_G), n -> false);
        Path out = dir.resolve("onnx");

        CheckpointConverter.Result r = CheckpointConverter.convert(ckpt, out, CombinedCheckpoint.CLIP_HEADS);

        assertThat(r.components()).containsExactly("transformer", "text_encoder", "text_encoder_2");
        assertThat(out.resolve("text_encoder_3")).doesNotExist();
        assertThat(out.resolve("vae_decoder")).doesNotExist();
        JsonNode index = new ObjectMapper().readTree(out.resolve("model_index.json").toFile());
        assertThat(index.get("text_encoder_3").get(0).isNull()).isTrue();
        assertThat(index.get("vae").get(0).isNull()).isTrue();
        try (Sd3Model m = Sd3Model.load(out, OnnxOptions.cpu(), CombinedCheckpoint.options())) {
            assertThat(m.encoder(EncoderRole.T5)).isEmpty();
            assertThat(m.vae()).isEmpty();
        }
    }

    @Test
    void copiesTokenizerFoldersAndTheShiftOfADiffusersFolder() throws Exception {
        Path root = dir.resolve("diffusers");
        Files.createDirectories(root.resolve("transformer"));
        CombinedCheckpoint.mmdit(root.resolve("transformer").resolve("diffusion_pytorch_model.safetensors"));
        Files.createDirectories(root.resolve("text_encoder"));
        Files.copy(CombinedCheckpoint.golden("encoders/clip_l/weights.safetensors"),
                root.resolve("text_encoder").resolve("model.safetensors"));
        Files.createDirectories(root.resolve("tokenizer"));
        Files.writeString(root.resolve("tokenizer").resolve("vocab.json"), "{\"a</w>\": 0}");
        Files.writeString(root.resolve("tokenizer").resolve("merges.txt"), "#version: 0.2\n");
        Files.createDirectories(root.resolve("scheduler"));
        Files.writeString(root.resolve("scheduler").resolve("scheduler_config.json"), "{\"shift\": 1.5}");
        Path out = dir.resolve("onnx");

        CheckpointConverter.Result r = CheckpointConverter.convert(root, out, CombinedCheckpoint.CLIP_HEADS);

        assertThat(r.components()).containsExactly("transformer", "text_encoder", "tokenizer");
        assertThat(r.shift()).isEqualTo(1.5);
        assertThat(Files.readString(out.resolve("tokenizer").resolve("vocab.json"))).isEqualTo("{\"a</w>\": 0}");
        assertThat(out.resolve("tokenizer").resolve("merges.txt")).isNotEmptyFile();
        JsonNode index = new ObjectMapper().readTree(out.resolve("model_index.json").toFile());
        assertThat(index.get("tokenizer").get(1).asText()).isEqualTo("CLIPTokenizer");
        assertThat(index.get("tokenizer_2").get(0).isNull()).isTrue();
        // The copied folder is loaded as the CLIP-L tokenizer unless one is given: this one lacks files.
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> Sd3Model.load(out, OnnxOptions.cpu(), CombinedCheckpoint.options()))
                .isInstanceOf(org.sd3j.ModelLoadException.class)
                .hasMessageContaining("tokenizer");
        try (Sd3Model m = Sd3Model.load(out, OnnxOptions.cpu(), tokenized())) {
            assertThat(m.shift()).isEqualTo(1.5);
            assertThat(m.encoder(EncoderRole.CLIP_L).orElseThrow().encode(List.of("x")).tokens().dim(2))
                    .isEqualTo(64);
        }
    }

    /** A diffusers-style tokenizers folder: synthetic CLIP vocabularies and the test T5 tokenizer.json. */
    static Path tokenizers(Path root) throws Exception {
        org.sd3j.onnx.tokenizer.SyntheticClipVocab.write(root.resolve("tokenizer"), "<|endoftext|>", true);
        org.sd3j.onnx.tokenizer.SyntheticClipVocab.write(root.resolve("tokenizer_2"), "!", true);
        Files.createDirectories(root.resolve("tokenizer_3"));
        Files.copy(Path.of(FullConversionTest.class.getResource("/tokenizer/t5/tokenizer.json").toURI()),
                root.resolve("tokenizer_3").resolve("tokenizer.json"));
        return root;
    }

    /** sd3_medium.safetensors (no T5) + t5xxl_fp16.safetensors + tokenizers: one complete ONNX folder. */
    @Test
    void addsAStandaloneT5FileAndCopiesTheGivenTokenizers() throws Exception {
        Path combined = CombinedCheckpoint.write(dir.resolve("combined"), EnumSet.allOf(Part.class), n -> false);
        Path noT5 = CombinedCheckpoint.write(dir.resolve("no-t5"), EnumSet.of(Part.CLIP_L, Part.CLIP_G, Part.VAE),
                n -> false);
        Path t5 = CombinedCheckpoint.golden("encoders/t5xxl/weights.safetensors");
        Path toks = tokenizers(dir.resolve("toks"));
        Path out = dir.resolve("onnx");

        CheckpointConverter.Result r = CheckpointConverter.convert(noT5, out, CheckpointConverter.Options.defaults()
                .withClipHeads(CombinedCheckpoint.CLIP_HEADS).withEncoderFile(EncoderRole.T5, t5).withTokenizers(toks));

        assertThat(r.components()).containsExactly("transformer", "text_encoder", "text_encoder_2",
                "text_encoder_3", "vae_encoder", "vae_decoder", "tokenizer", "tokenizer_2", "tokenizer_3");
        assertThat(Files.readString(out.resolve("tokenizer_2").resolve("vocab.json")))
                .isEqualTo(Files.readString(toks.resolve("tokenizer_2").resolve("vocab.json")));
        assertThat(out.resolve("tokenizer_3").resolve("tokenizer.json")).isNotEmptyFile();
        JsonNode index = new ObjectMapper().readTree(out.resolve("model_index.json").toFile());
        assertThat(index.get("text_encoder_3").get(1).asText()).isEqualTo("T5EncoderModel");
        assertThat(index.get("tokenizer_3").get(1).asText()).isEqualTo("T5TokenizerFast");
        try (Sd3Model direct = Sd3Model.load(combined, OnnxOptions.cpu(), tokenized());
             Sd3Model onnx = Sd3Model.load(out, OnnxOptions.cpu(), tokenized())) {
            EncodedText a = direct.encoder(EncoderRole.T5).orElseThrow().encode(List.of("a red cube"));
            EncodedText b = onnx.encoder(EncoderRole.T5).orElseThrow().encode(List.of("a red cube"));
            assertThat(b.tokens().maxAbsDiff(a.tokens())).isLessThan(1e-4);
        }
        // Without given tokenizers, the folder's own copies tokenize prompts.
        try (Sd3Model onnx = Sd3Model.load(out, OnnxOptions.cpu(), CombinedCheckpoint.options())) {
            assertThat(onnx.encoders()).hasSize(3);
            for (EncoderRole role : List.of(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5)) {
                assertThat(onnx.encoder(role).orElseThrow().encode(List.of("hello world")).tokens().dim(0))
                        .isEqualTo(1);
            }
        }
    }

    @Test
    void anInvalidTokenizersFolderIsAClearErrorBeforeAnythingIsWritten() throws Exception {
        Path ckpt = CombinedCheckpoint.write(dir, EnumSet.of(Part.CLIP_L), n -> false);
        Path out = dir.resolve("onnx");
        Path empty = Files.createDirectories(dir.resolve("empty"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CheckpointConverter.convert(ckpt, out,
                        CheckpointConverter.Options.defaults().withTokenizers(empty)))
                .isInstanceOf(org.sd3j.ModelLoadException.class)
                .hasMessageContaining(empty.toString())
                .hasMessageContaining("tokenizer/, tokenizer_2/, tokenizer_3/");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CheckpointConverter.convert(ckpt, out,
                        CheckpointConverter.Options.defaults().withTokenizers(dir.resolve("nothing-here"))))
                .isInstanceOf(org.sd3j.ModelLoadException.class)
                .hasMessageContaining("found nothing");
        Path broken = tokenizers(dir.resolve("broken"));
        Files.delete(broken.resolve("tokenizer").resolve("merges.txt"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CheckpointConverter.convert(ckpt, out,
                        CheckpointConverter.Options.defaults().withTokenizers(broken)))
                .isInstanceOf(org.sd3j.ModelLoadException.class)
                .hasMessageContaining("missing merges.txt");
        Path badT5 = tokenizers(dir.resolve("bad-t5"));
        Files.writeString(badT5.resolve("tokenizer_3").resolve("tokenizer.json"), "{}");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CheckpointConverter.convert(ckpt, out,
                        CheckpointConverter.Options.defaults().withTokenizers(badT5)))
                .isInstanceOf(org.sd3j.ModelLoadException.class)
                .hasMessageContaining("tokenizer.json");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CheckpointConverter.convert(ckpt, out,
                        CheckpointConverter.Options.defaults().withEncoderFile(EncoderRole.T5, dir.resolve("t5.st"))))
                .isInstanceOf(org.sd3j.ModelLoadException.class)
                .hasMessageContaining("t5.st");
        assertThat(out).doesNotExist();
    }

    @Test
    void aPartialEncoderFailsNamingTheMissingTensor() throws Exception {
        String missing = "text_encoders.t5xxl.transformer.encoder.final_layer_norm.weight";
        Path ckpt = CombinedCheckpoint.write(dir, EnumSet.of(Part.T5), missing::equals);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CheckpointConverter.convert(ckpt, dir.resolve("o"), CombinedCheckpoint.CLIP_HEADS))
                .isInstanceOf(org.sd3j.ModelLoadException.class)
                .hasMessageContaining(missing);
    }


    /** Real checkpoints store float16: the saved graphs keep float16 weights and still match the direct loaders. */
    @Test
    void float16EncodersConvertAndMatch() throws Exception {
        Path ckpt = dir.resolve("f16.safetensors");
        org.sd3j.onnx.safetensors.SafetensorsWriter w = org.sd3j.onnx.safetensors.SafetensorsWriter.create();
        Path mmdit = CombinedCheckpoint.mmdit(dir.resolve("mmdit.safetensors"));
        CombinedCheckpoint.copy(mmdit, "", w, n -> false);
        CombinedCheckpoint.copy(CombinedCheckpoint.golden("encoders/clip_g_torch/clip_g_f16.safetensors"),
                "text_encoders.clip_g.transformer.", w, n -> false);
        try (org.sd3j.onnx.safetensors.TensorSource t5 = org.sd3j.onnx.safetensors.Safetensors.open(
                CombinedCheckpoint.golden("encoders/t5xxl/weights.safetensors"))) {
            for (String n : t5.names()) {
                w.addAs("text_encoders.t5xxl.transformer." + n, t5.toFloatTensor(n),
                        org.sd3j.onnx.safetensors.DType.F16);
            }
        }
        w.write(ckpt);
        Path out = dir.resolve("onnx");

        CheckpointConverter.Result r = CheckpointConverter.convert(ckpt, out, CombinedCheckpoint.CLIP_HEADS);

        assertThat(r.components()).containsExactly("transformer", "text_encoder_2", "text_encoder_3");
        try (Sd3Model direct = Sd3Model.load(ckpt, OnnxOptions.cpu(), tokenized());
             Sd3Model onnx = Sd3Model.load(out, OnnxOptions.cpu(), tokenized())) {
            for (EncoderRole role : List.of(EncoderRole.CLIP_G, EncoderRole.T5)) {
                EncodedText a = direct.encoder(role).orElseThrow().encode(List.of("a red cube"));
                EncodedText b = onnx.encoder(role).orElseThrow().encode(List.of("a red cube"));
                assertThat(b.tokens().maxAbsDiff(a.tokens())).as(role + " tokens").isLessThan(1e-4);
            }
        }
    }

    @Test
    void vaeLatentFactorsTravelFromTheCheckpointsConfigToTheFolder() throws Exception {
        Path src = Files.createDirectories(dir.resolve("scaled"));
        Path ckpt = CombinedCheckpoint.write(src, EnumSet.of(Part.VAE), n -> false);
        Files.writeString(src.resolve("config.json"),
                "{\"_class_name\": \"AutoencoderKL\", \"scaling_factor\": 0.75, \"shift_factor\": -0.125}");
        Path out = dir.resolve("scaled-onnx");

        CheckpointConverter.convert(ckpt, out, CombinedCheckpoint.CLIP_HEADS);

        for (Path model : List.of(ckpt, out)) {
            try (Sd3Model m = Sd3Model.load(model, OnnxOptions.cpu())) {
                org.sd3j.model.LatentFormat f = m.vae().orElseThrow().latentFormat();
                assertThat(f.scalingFactor()).as(model.toString()).isEqualTo(0.75);
                assertThat(f.shiftFactor()).as(model.toString()).isEqualTo(-0.125);
            }
        }
    }
}
