package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.image.Image;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.lora.LinearLayers;
import org.sd3j.train.lora.LoraAdapter;
import org.sd3j.train.lora.LoraFiles;
import org.sd3j.train.lora.LoraLayout;
import org.sd3j.train.lora.LoraSpec;
import org.sd3j.train.lora.LoraTargets;
import org.sd3j.train.lora.LoraWeights;

/** {@code sd3 generate --lora FILE[:WEIGHT]} on {@link TinyModel}'s ONNX folder, with LoRAs the trainer writes. */
class GenerateLoraTest {
    private static final String NL = System.lineSeparator();

    @TempDir
    static Path shared;
    static Path model;
    static Path fox;
    static Path snow;

    @TempDir
    Path tmp;

    @BeforeAll
    static void build() {
        model = TinyModel.onnxFolder(shared);
        Map<String, long[]> shapes;
        Path checkpoint = shared.resolve("checkpoint").resolve("tiny_sd3.safetensors");
        try (TensorSource s = Safetensors.open(checkpoint)) {
            shapes = LinearLayers.of(MmditWeights.of(s, checkpoint));
        }
        fox = lora(shapes, LoraTargets.diffusersDefault(), LoraLayout.DIFFUSERS, "fox.safetensors", 1);
        snow = lora(shapes, LoraTargets.kohya(), LoraLayout.KOHYA, "snow.safetensors", 2);
    }

    private static Path lora(Map<String, long[]> shapes, LoraTargets targets, LoraLayout layout, String name,
                             long seed) {
        LoraWeights w = LoraWeights.initialize(targets.select(shapes), shapes, LoraSpec.diffusersDefault(seed));
        SplittableRandom r = new SplittableRandom(seed);
        for (LoraAdapter a : w.adapters().values()) {
            Tensor b = a.b();
            for (int i = 0; i < b.size(); i++) {
                b.set(i, (float) (r.nextGaussian() * 0.3));
            }
        }
        Path file = shared.resolve(name);
        LoraFiles.write(file, w, layout, Map.of());
        return file;
    }

    private static CliRun generate(String... args) {
        List<String> all = new ArrayList<>(List.of("generate", "a fox", "--model", model.toString(), "--size",
                "64x64", "--steps", "2", "--seed", "5"));
        all.addAll(Arrays.asList(args));
        return CliRun.of(all.toArray(String[]::new));
    }

    private static byte[] pixels(Path png) {
        return Image.read(png).toRgbBytes();
    }

    @Test
    void mergesLorasRecordsThemAndSaysWhatItMerged() {
        Path plain = tmp.resolve("plain.png");
        Path out = tmp.resolve("fox.png");
        assertThat(generate("-o", plain.toString()).exitCode()).isZero();

        CliRun run = generate("--lora", fox + ":0.8", "--lora", snow.toString(), "-o", out.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        // diffusers keys: q, k and v of both streams and the image stream's output projection; kohya: every Linear.
        assertThat(run.err()).contains(NL + "LoRA " + fox + " (weight 0.8): merged 7 adapters into the denoiser" + NL
                + "LoRA " + snow + " (weight 1): merged 7 adapters into the denoiser" + NL);
        assertThat(GenerateCommandTest.parameters(out)).startsWith("a fox <lora:fox:0.8> <lora:snow:1.0>\nSteps: 2,");
        assertThat(pixels(out)).isNotEqualTo(pixels(plain));
    }

    @Test
    void weightZeroGivesTheModelsImage() {
        Path plain = tmp.resolve("plain.png");
        Path zero = tmp.resolve("zero.png");
        assertThat(generate("-o", plain.toString()).exitCode()).isZero();

        CliRun run = generate("--lora", fox + ":0", "-o", zero.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(pixels(zero)).isEqualTo(pixels(plain));
    }

    @Test
    void aMissingFileIsAUsageError() {
        CliRun run = generate("--lora", tmp.resolve("nope.safetensors") + ":0.5");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).startsWith("sd3: error: Invalid value for option '--lora' (FILE[:WEIGHT]): --lora must name an existing"
                + " file, found '" + tmp.resolve("nope.safetensors") + "'");
    }

    @Test
    void aLoraForAnotherModelNamesTheOffendingTensor() {
        Map<String, long[]> bigger = LinearLayers.of(new org.sd3j.onnx.mmdit.MmditConfig(2, 128, 2, 2, 16, 16, 8,
                192, 160, 512, false, java.util.Set.of()));
        Path wrong = lora(bigger, LoraTargets.glob(LoraTargets.NameStyle.ORIGINAL, "context_embedder"),
                LoraLayout.KOHYA, "wrong.safetensors", 3);

        CliRun run = generate("--lora", wrong.toString());

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).isEqualTo("sd3: error: " + wrong + ": LoRA tensor"
                + " 'lora_unet_context_embedder.lora_up.weight' has shape [128, 4], expected [64, 4] to fit model"
                + " weight 'context_embedder.weight' [64, 192]" + NL);
    }

    @Test
    void evalComparesTheModelWithALoraOnTheSameSeeds() throws Exception {
        Path json = tmp.resolve("eval.json");
        CliRun run = CliRun.of("eval", "--model", model.toString(), "--prompts", "3", "--steps", "2", "--runs", "all",
                "--lora", fox + ":0", "--json", json.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        // Weight 0 gives the model's own images: every caption ties.
        assertThat(run.out()).contains("all encoders + LoRA").contains("LoRA vs none: 0 wins, 0 losses, 3 ties");
        com.fasterxml.jackson.databind.JsonNode lora = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(json.toFile()).get("runs").get(0).get("with_lora");
        assertThat(lora.get("ties").asInt()).isEqualTo(3);
        assertThat(lora.get("win_rate_ties_half").asDouble()).isEqualTo(0.5);
    }
}
