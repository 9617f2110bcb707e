package org.sd3j.examples.defaultmodel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.Sd3Exception;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.tokenizer.ClipTokenizer;
import org.sd3j.onnx.tokenizer.T5Tokenizer;

class DefaultModelWriterTest {
    @TempDir
    Path dir;

    /**
     * Two writes in this JVM agree byte for byte, and with the bundled copy, which the build wrote in another JVM
     * (so nothing may depend on per-run hash orders).
     */
    @Test
    void writesTheSameBytesEveryTime() throws Exception {
        // The weights the build used: the committed trained ones when present.
        Path a = DefaultModelWriter.write(dir.resolve("a"), DefaultModelWriter.Weights.shipped());
        Path b = DefaultModelWriter.write(dir.resolve("b"), DefaultModelWriter.Weights.shipped());
        Path bundled = DefaultModel.extract(dir.resolve("bundled"));

        List<String> files = DefaultModelWriter.list(a);
        assertThat(DefaultModelWriter.list(b)).isEqualTo(files);
        assertThat(files).contains(DefaultModel.INDEX);
        assertThat(Files.readAllLines(a.resolve(DefaultModel.INDEX))).containsExactlyElementsOf(
                files.stream().filter(f -> !f.equals(DefaultModel.INDEX)).toList());
        for (String f : files) {
            assertThat(b.resolve(f)).as(f).hasSameBinaryContentAs(a.resolve(f));
            if (!f.equals(DefaultModel.INDEX)) {
                assertThat(bundled.resolve(f)).as("bundled " + f).hasSameBinaryContentAs(a.resolve(f));
            }
        }
    }

    @Test
    void recordsProvenanceAndTheNativeSize() throws Exception {
        Path out = DefaultModel.extract(dir.resolve("m"));

        JsonNode index = Json.MAPPER.readTree(out.resolve("model_index.json").toFile());
        assertThat(index.get("_class_name").asText()).isEqualTo("StableDiffusion3Pipeline");
        JsonNode p = index.get("_sd3j");
        assertThat(p.get("generator").asText()).isEqualTo(DefaultModelWriter.class.getName());
        assertThat(p.get("seed").asLong()).isEqualTo(DefaultModelWriter.SEED);
        assertThat(p.get("weights").asText()).contains(DefaultModelWriter.Weights.shipped()
                == DefaultModelWriter.Weights.PLACEHOLDER ? "random weights" : "trained from scratch");
        JsonNode config = Json.MAPPER.readTree(out.resolve("transformer/config.json").toFile());
        assertThat(config.get("sample_size").asInt()).isEqualTo(8);
        assertThat(config.get("joint_attention_dim").asInt()).isEqualTo(DefaultModelWriter.CONTEXT_DIM);
    }

    @Test
    void everyListedWordIsOneTokenForEachTokenizer() {
        Path out = DefaultModel.extract(dir.resolve("m"));
        List<String> words = DefaultModelWriter.vocabulary();
        assertThat(words).hasSizeGreaterThan(300);
        try (ClipTokenizer l = ClipTokenizer.builder(out.resolve("tokenizer")).padWithEndToken().build();
             ClipTokenizer g = ClipTokenizer.builder(out.resolve("tokenizer_2")).padId(0).build();
             T5Tokenizer t5 = T5Tokenizer.load(out.resolve("tokenizer_3"))) {
            for (String w : words) {
                assertThat(l.promptTokens(w)).as("CLIP-L '%s'", w).hasSize(1);
                assertThat(g.promptTokens(w)).as("CLIP-G '%s'", w).hasSize(1);
                assertThat(t5.promptTokens(w)).as("T5 '%s'", w).hasSize(1);
            }
            // Unlisted words and capitals still tokenize, into pieces; the end token has the largest id.
            assertThat(l.promptTokens("Zebras, XYZ!")).hasSizeGreaterThan(3);
            assertThat(t5.promptTokens("A RED Fox")).hasSize(3);
            assertThat(l.ids("a red fox")).contains(l.eosId());
            assertThat(l.eosId()).isEqualTo(ClipVocabulary.learn(words).size() - 1);
        }
    }

    @Test
    void everyTrainingCaptionFitsTheSequenceLength() {
        Path out = DefaultModel.extract(dir.resolve("captions"));
        try (ClipTokenizer l = ClipTokenizer.builder(out.resolve("tokenizer")).padWithEndToken().build();
             T5Tokenizer t5 = T5Tokenizer.load(out.resolve("tokenizer_3"))) {
            int longest = 0;
            for (org.sd3j.examples.shapes.CaptionedScene c
                    : new org.sd3j.examples.shapes.SceneGenerator(DefaultModelRecipe.DATA_SEED).range(0, 3000)) {
                assertThat(l.tokenize(c.caption()).dropped()).as("CLIP '%s'", c.caption()).isZero();
                assertThat(t5.tokenize(c.caption()).dropped()).as("T5 '%s'", c.caption()).isZero();
                longest = Math.max(longest, l.promptTokens(c.caption()).length);
            }
            assertThat(longest).as("longest caption in CLIP tokens").isLessThanOrEqualTo(DefaultModelWriter.TOKENS - 2);
        }
    }

    @Test
    void refusesANonEmptyOutputFolder() throws Exception {
        Files.createDirectories(dir.resolve("x"));
        Files.writeString(dir.resolve("x").resolve("keep.txt"), "mine");

        assertThatThrownBy(() -> DefaultModelWriter.write(dir.resolve("x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("outputDir must be absent or empty, found a non-empty folder " + dir.resolve("x"));
        assertThat(dir.resolve("x").resolve("keep.txt")).hasContent("mine");
    }

    @Test
    void positionTableIsDiffusersSinCos() {
        float[] t = DefaultModelWriter.sinCosPositions(8, 4, 2);
        // Cell (row 1, col 3): coordinates scaled by base 2 / grid 4 -> col 1.5, row 0.5; omegas 1 and 0.01.
        int o = (4 + 3) * 8;
        assertThat(t[o]).isEqualTo((float) Math.sin(1.5));
        assertThat(t[o + 1]).isEqualTo((float) Math.sin(0.015));
        assertThat(t[o + 2]).isEqualTo((float) Math.cos(1.5));
        assertThat(t[o + 4]).isEqualTo((float) Math.sin(0.5));
        assertThat(t[o + 7]).isEqualTo((float) Math.cos(0.005));
    }

    @Test
    void trainedWeightsRecommendTheGuidanceTheirMetadataNames() throws Exception {
        Path none = dir.resolve("none.safetensors");
        SafetensorsWriter.create().add("x", new float[] {1}, 1).write(none);
        Path good = dir.resolve("good.safetensors");
        SafetensorsWriter.create().add("x", new float[] {1}, 1).metadata(DefaultModelRecipe.GUIDANCE_KEY, "2.5")
                .write(good);
        Path bad = dir.resolve("bad.safetensors");
        SafetensorsWriter.create().add("x", new float[] {1}, 1).metadata(DefaultModelRecipe.GUIDANCE_KEY, "lots")
                .write(bad);

        assertThat(DefaultModelWriter.Weights.PLACEHOLDER.recommendedGuidance()).isEmpty();
        assertThat(DefaultModelWriter.Weights.trained(none).recommendedGuidance()).isEmpty();
        assertThat(DefaultModelWriter.Weights.trained(good).recommendedGuidance()).hasValue(2.5);
        assertThatThrownBy(() -> DefaultModelWriter.Weights.trained(bad).recommendedGuidance())
                .isInstanceOf(Sd3Exception.class)
                .hasMessage(bad + ": metadata sampling.guidance must be a finite number >= 0, found 'lots'");
    }
}
