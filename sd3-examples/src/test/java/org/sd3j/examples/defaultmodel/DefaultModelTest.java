package org.sd3j.examples.defaultmodel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalDouble;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.GenerationResult;
import org.sd3j.Sd3Pipeline;
import org.sd3j.image.Image;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.model.Sd3Model;
import org.sd3j.onnx.runtime.OnnxOptions;

/** The bundled default model (written into target/classes by the build) extracts, loads and generates. */
class DefaultModelTest {
    @TempDir
    static Path dir;
    static Path folder;
    static Sd3Model model;

    @BeforeAll
    static void extractAndLoad() {
        folder = DefaultModel.extract(dir.resolve("default-model"));
        model = Sd3Model.load(folder, OnnxOptions.cpu());
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    @Test
    void isBundledWithAnIndexOfEveryComponent() {
        assertThat(DefaultModel.isBundled()).isTrue();
        assertThat(DefaultModel.files()).contains("model_index.json", "scheduler/scheduler_config.json",
                "transformer/model.onnx", "transformer/model.onnx_data", "transformer/config.json",
                "text_encoder/model.onnx", "text_encoder_2/model.onnx", "text_encoder_3/model.onnx",
                "vae_encoder/model.onnx", "vae_decoder/model.onnx", "tokenizer/vocab.json", "tokenizer/merges.txt",
                "tokenizer_2/vocab.json", "tokenizer_3/tokenizer.json")
                .doesNotContain(DefaultModel.INDEX)
                .isSorted();
    }

    @Test
    void extractsEveryListedFileAndNothingElse() throws Exception {
        assertThat(DefaultModelWriter.list(folder)).isEqualTo(DefaultModel.files());
        long bytes = 0;
        for (String f : DefaultModel.files()) {
            bytes += Files.size(folder.resolve(f));
        }
        assertThat(bytes).as("folder size (the issue caps the shipped model at 30 MB)").isBetween(1_000_000L, 30_000_000L);
    }

    @Test
    void loadsWithAllThreeEncodersTheirTokenizersAndTheVae() {
        assertThat(model.format()).isEqualTo(Sd3Model.Format.ONNX);
        for (EncoderRole role : List.of(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5)) {
            // Encoding text (not token ids) needs the folder's tokenizer for that role.
            assertThat(model.encoder(role)).as(role.name()).isPresent();
            assertThat(model.encoder(role).orElseThrow().encode(List.of("a red circle")).tokens().dim(2))
                    .as(role.name() + " features")
                    .isEqualTo(role.equals(EncoderRole.T5) ? DefaultModelWriter.T5_WIDTH : DefaultModelWriter.CLIP_WIDTH);
        }
        assertThat(model.vae()).isPresent();
        assertThat(model.layout().contextDim()).isEqualTo(DefaultModelWriter.CONTEXT_DIM);
        assertThat(model.layout().pooledDim()).isEqualTo(DefaultModelWriter.POOLED_DIM);
        for (EncoderRole role : List.of(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5)) {
            assertThat(model.layout().slot(role).orElseThrow().tokens()).as(role + " tokens")
                    .isEqualTo(DefaultModelWriter.TOKENS);
            assertThat(model.encoder(role).orElseThrow().encode(List.of("a red circle")).tokens().dim(1))
                    .as(role + " sequence").isEqualTo(DefaultModelWriter.TOKENS);
        }
        // Trained weights come with the recipe's shift; random ones with SD3's.
        assertThat(model.shift()).isEqualTo(DefaultModelWriter.Weights.shipped() == DefaultModelWriter.Weights.PLACEHOLDER
                ? 3.0 : DefaultModelRecipe.SHIFT);
        // ... and the guidance scale they were exported with, which generation then uses by default.
        OptionalDouble recorded = DefaultModelWriter.Weights.shipped().recommendedGuidance();
        assertThat(model.recommendedGuidance()).isEqualTo(recorded);
        assertThat(model.pipelineBuilder().build().guidance())
                .isEqualTo(recorded.orElse(Sd3Pipeline.DEFAULT_GUIDANCE));
    }

    @Test
    void generatesAStructuredImageThatDependsOnThePrompt() {
        GenerationResult red = model.pipelineBuilder().size(64, 64).steps(4).seed(1).build().generate("a red circle");
        GenerationResult blue = model.pipelineBuilder().size(64, 64).steps(4).seed(1).build()
                .generate("a blue square");

        assertThat(red.images()).hasSize(1);
        Image image = red.image();
        assertThat(image.width()).isEqualTo(64);
        assertThat(image.height()).isEqualTo(64);
        assertThat(variance(image.toRgbBytes())).as("pixel variance (0..255 scale)").isGreaterThan(100.0);
        assertThat(blue.image().toRgbBytes()).isNotEqualTo(image.toRgbBytes());
    }

    @Test
    void aTempExtractionIsDeletedOnClose() {
        Path path;
        try (DefaultModel.Extracted extracted = DefaultModel.extractToTempDirectory()) {
            path = extracted.path();
            assertThat(path.resolve("transformer/model.onnx")).isNotEmptyFile();
        }
        assertThat(path).doesNotExist();
    }

    @Test
    void extractionReplacesListedFilesAndLeavesOthersAlone() throws Exception {
        Path target = dir.resolve("again");
        Files.createDirectories(target.resolve("scheduler"));
        Files.writeString(target.resolve("scheduler/scheduler_config.json"), "stale");
        Files.writeString(target.resolve("notes.txt"), "mine");

        DefaultModel.extract(target);

        assertThat(target.resolve("scheduler/scheduler_config.json")).hasSameBinaryContentAs(
                folder.resolve("scheduler/scheduler_config.json"));
        assertThat(target.resolve("notes.txt")).hasContent("mine");
        try (var files = Files.walk(target)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
        }
    }

    static double variance(byte[] rgb) {
        double sum = 0;
        double sq = 0;
        for (byte b : rgb) {
            int v = b & 0xff;
            sum += v;
            sq += (double) v * v;
        }
        double mean = sum / rgb.length;
        return sq / rgb.length - mean * mean;
    }
}
