package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.image.Image;

/** {@code sd3 generate} end to end on {@link TinyModel} (64x64, 2 steps), and its errors. */
class GenerateCommandTest {
    private static final String NL = System.lineSeparator();

    @TempDir
    static Path shared;
    static Path model;

    @TempDir
    Path tmp;

    @BeforeAll
    static void buildModel() {
        model = TinyModel.onnxFolder(shared);
    }

    /** {@code generate --model <tiny> --size 64x64 --steps 2 <args>}. */
    static CliRun generate(String... args) {
        List<String> all = new ArrayList<>(List.of("generate", "--model", model.toString(), "--size", "64x64",
                "--steps", "2"));
        all.addAll(Arrays.asList(args));
        return CliRun.of(all.toArray(String[]::new));
    }

    static String parameters(Path png) {
        return Image.readPngText(png).get("parameters");
    }

    /** A 64x64 PNG: a gradient, or white/black halves for a mask. */
    Path png(String name, boolean mask) {
        byte[] rgb = new byte[64 * 64 * 3];
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                int o = (y * 64 + x) * 3;
                byte v = (byte) (mask ? (x < 32 ? 255 : 0) : x * 4);
                rgb[o] = v;
                rgb[o + 1] = mask ? v : (byte) (y * 4);
                rgb[o + 2] = mask ? v : (byte) 128;
            }
        }
        Path file = tmp.resolve(name);
        Image.of(64, 64, rgb).writePng(file);
        return file;
    }

    @Nested
    class Writes {
        /** README's first command, at 2 steps: no --model means the bundled default model, at its 64x64. */
        @Test
        void withTheBundledDefaultModelWhenNoneIsNamed() {
            Path out = tmp.resolve("fox.png");

            CliRun run = CliRun.of("generate", "a red fox in the snow", "--steps", "2", "--seed", "3",
                    "--output", out.toString());

            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(run.err()).startsWith("Loaded the bundled default model (ONNX folder) in ");
            Image image = Image.read(out);
            assertThat(image.width()).isEqualTo(64);
            assertThat(image.height()).isEqualTo(64);
            double shift = org.sd3j.examples.defaultmodel.DefaultModelWriter.Weights.shipped()
                    == org.sd3j.examples.defaultmodel.DefaultModelWriter.Weights.PLACEHOLDER ? 3.0
                    : org.sd3j.examples.defaultmodel.DefaultModelRecipe.SHIFT;
            // ... and the guidance its weights recommend.
            double guidance = org.sd3j.examples.defaultmodel.DefaultModelWriter.Weights.shipped()
                    .recommendedGuidance().orElse(7.0);
            assertThat(parameters(out)).isEqualTo("a red fox in the snow\nSteps: 2, Sampler: euler, CFG scale: "
                    + guidance + ", Seed: 3, Size: 64x64, Shift: " + shift + ", Model: sd3j-default");
        }

        @Test
        void aPngWithTheParametersAndPrintsFileSeedAndTimings() {
            Path out = tmp.resolve("fox.png");

            CliRun run = generate("a red fox in the snow", "--seed", "42", "--output", out.toString());

            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(out).isNotEmptyFile();
            assertThat(Image.read(out).width()).isEqualTo(64);
            assertThat(parameters(out)).startsWith("a red fox in the snow\nSteps: 2, Sampler: euler, CFG scale: 7.0, "
                    + "Seed: 42, Size: 64x64, Shift: 3.0").endsWith("Model: onnx");
            assertThat(run.out()).matches("Wrote " + java.util.regex.Pattern.quote(out.toString()) + " \\(seed 42\\)"
                    + NL + "Timings: encode \\d+\\.\\d\\d s, denoise \\d+\\.\\d\\d s, decode \\d+\\.\\d\\d s, "
                    + "total \\d+\\.\\d\\d s" + NL);
        }

        @Test
        void progressLinesOnTheErrorStream() {
            CliRun run = generate("a fox", "--seed", "1", "--output", tmp.resolve("p.png").toString());

            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(run.err())
                    .startsWith("Loaded " + model + " (ONNX folder) in ")
                    .containsPattern("step 1/2 \\[##########----------\\] \\d+\\.\\d\\d (it/s|s/it), ETA \\d+:\\d\\d")
                    .containsPattern("step 2/2 \\[####################\\] \\d+\\.\\d\\d (it/s|s/it), ETA 0:00");
        }

        @Test
        void thePromptOptionAndTheNegativePrompt() {
            Path out = tmp.resolve("neg.png");

            CliRun run = generate("--prompt", "a cat", "--negative", "blurry", "--seed", "3", "--guidance", "4.5",
                    "--shift", "2.0", "--sampler", "heun", "-o", out.toString());

            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(parameters(out)).startsWith("a cat\nNegative prompt: blurry\nSteps: 2, Sampler: heun, "
                    + "CFG scale: 4.5, Seed: 3, Size: 64x64, Shift: 2.0");
        }

        @Test
        void aBatchAsNumberedFiles() {
            Path out = tmp.resolve("sub/batch.png");

            CliRun run = generate("a fox", "--seed", "7", "--batch", "2", "--out", out.toString());

            assertThat(run.exitCode()).as(run.err()).isZero();
            Path first = tmp.resolve("sub/batch-1.png");
            Path second = tmp.resolve("sub/batch-2.png");
            assertThat(parameters(first)).contains("Seed: 7,");
            assertThat(parameters(second)).contains("Seed: 8,");
            assertThat(out).doesNotExist();
            assertThat(run.out()).startsWith("Wrote " + first + " (seed 7)" + NL + "Wrote " + second + " (seed 8)" + NL);
        }

        @Test
        void img2imgAtTheInitImagesSize() {
            Path init = png("init.png", false);
            Path out = tmp.resolve("img2img.png");

            CliRun run = CliRun.of("generate", "a fox", "--model", model.toString(), "--steps", "4", "--seed", "5",
                    "--init-image", init.toString(), "--strength", "0.5", "--output", out.toString());

            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(parameters(out)).contains("Size: 64x64", "Denoising strength: 0.5");
            assertThat(run.err()).contains("step 2/2");
        }

        @Test
        void inpaintingWithAMask() {
            Path out = tmp.resolve("inpaint.png");

            CliRun run = generate("a fox", "--seed", "5", "--init-image", png("init.png", false).toString(),
                    "--mask", png("mask.png", true).toString(), "--output", out.toString());

            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(parameters(out)).contains("Denoising strength: 1.0", "Inpainting: true");
        }

        @Test
        void cudaFallbackRunsOnTheCpu() {
            Path out = tmp.resolve("fallback.png");

            CliRun run = generate("a fox", "--cuda-fallback", "--threads", "1", "--output", out.toString());

            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(out).isNotEmptyFile();
        }
    }

    @Nested
    class Fails {
        @Test
        void withTheProviderMessageWhenCudaIsUnavailable() {
            Path out = tmp.resolve("cuda.png");

            CliRun run = generate("a fox", "--cuda", "--output", out.toString());

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err())
                    .startsWith("sd3: error: CUDA execution provider (device 0) is unavailable: ONNX Runtime says '")
                    .contains("com.microsoft.onnxruntime:onnxruntime_gpu", "'Running on CUDA'")
                    .endsWith(" With the sd3 command: leave out --cuda to run on the CPU, or use --cuda-fallback."
                            + NL)
                    .doesNotContain("\tat ");
            assertThat(run.out()).isEmpty();
            assertThat(out).doesNotExist();
        }

        @Test
        void onADeviceIdTheMessageNamesIt() {
            CliRun run = generate("a fox", "--cuda", "1");

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).startsWith("sd3: error: CUDA execution provider (device 1) is unavailable");
        }

        @Test
        void whenTheModelPathDoesNotExist() {
            Path missing = tmp.resolve("no-model");

            CliRun run = CliRun.of("generate", "a fox", "--model", missing.toString());

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).isEqualTo("sd3: error: " + missing + ": no such file or folder" + NL);
        }

        @Test
        void whenTheSizeIsNotAMultipleOf16() {
            CliRun run = CliRun.of("generate", "a fox", "--model", model.toString(), "--size", "100x100");

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).isEqualTo("sd3: error: width must be a positive multiple of 16, found 100" + NL);
        }

        @Test
        void whenTheSizeIsMalformed() {
            CliRun run = generate("a fox", "--size", "big");

            assertThat(run.exitCode()).isEqualTo(2);
            assertThat(run.err()).startsWith("sd3: error: Invalid value for option '--size': size must be "
                    + "WIDTHxHEIGHT (e.g. 1024x768) or one number for a square, found 'big'");
        }

        @Test
        void whenTheSamplerIsUnknown() {
            CliRun run = generate("a fox", "--sampler", "ddim");

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).startsWith("sd3: error: sampler must be one of [dpmpp_2m, euler, euler_stochastic, "
                    + "heun], found 'ddim'.").doesNotContain("\tat ");
        }

        @Test
        void whenAMaskComesWithoutAnInitImage() {
            CliRun run = generate("a fox", "--mask", png("mask.png", true).toString());

            assertThat(run.exitCode()).isEqualTo(2);
            assertThat(run.err()).startsWith("sd3: error: --mask requires --init-image" + NL + "Usage: sd3 generate");
        }

        @Test
        void whenAStrengthComesWithoutAnInitImage() {
            CliRun run = generate("a fox", "--strength", "0.5");

            assertThat(run.exitCode()).isEqualTo(2);
            assertThat(run.err()).startsWith("sd3: error: --strength requires --init-image");
        }

        @Test
        void whenTheInitImageIsMissing() {
            Path missing = tmp.resolve("missing.png");

            CliRun run = generate("a fox", "--init-image", missing.toString());

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).isEqualTo("sd3: error: --init-image " + missing + ": no such file" + NL);
        }

        @Test
        void whenTheInitImageIsNotAnImage() throws Exception {
            Path text = Files.writeString(tmp.resolve("notes.png"), "not a picture");

            CliRun run = generate("a fox", "--init-image", text.toString());

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).isEqualTo("sd3: error: --init-image " + text + ": not an image in a format ImageIO "
                    + "can read (expected PNG, JPEG, BMP or GIF)" + NL);
        }

        @Test
        void whenTheInitImageSizeIsNotAMultipleOf16() {
            Path odd = tmp.resolve("odd.png");
            Image.of(20, 16, new byte[20 * 16 * 3]).writePng(odd);

            CliRun run = CliRun.of("generate", "a fox", "--model", model.toString(), "--init-image", odd.toString());

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).isEqualTo("sd3: error: --init-image must have sides that are multiples of 16, "
                    + "found 20x16 (" + odd + ")" + NL);
        }

        @Test
        void whenThereIsNoPrompt() {
            CliRun run = generate();

            assertThat(run.exitCode()).isEqualTo(2);
            assertThat(run.err()).startsWith("sd3: error: Missing the prompt: give it as PROMPT or with --prompt" + NL);
        }

        @Test
        void whenThePromptIsGivenTwice() {
            CliRun run = generate("a fox", "--prompt", "a cat");

            assertThat(run.exitCode()).isEqualTo(2);
            assertThat(run.err()).startsWith("sd3: error: The prompt was given twice, as PROMPT and with --prompt: "
                    + "give one" + NL);
        }

        @Test
        void whenTheOutputIsNotAPng() {
            CliRun run = generate("a fox", "--output", "fox.jpg");

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).isEqualTo("sd3: error: --output must be a .png file, found fox.jpg" + NL);
        }

        @Test
        void whenTheStepsAreZero() {
            CliRun run = CliRun.of("generate", "a fox", "--model", model.toString(), "--steps", "0");

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).isEqualTo("sd3: error: steps must be >= 1, found 0" + NL);
        }

        @Test
        void whenACheckpointHasNoTokenizers() {
            Path ckpt = TinyModel.checkpoint(tmp.resolve("ckpt"), false);

            CliRun run = CliRun.of("generate", "a fox", "--model", ckpt.toString(), "--size", "64x64", "--steps", "1",
                    "--output", tmp.resolve("x.png").toString());

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).contains("has no tokenizer", "sd3 convert CHECKPOINT --tokenizers DIR OUT")
                    .doesNotContain("\tat ");
        }
    }

    @Nested
    class Benchmarks {
        @Test
        void printRunsAndASummaryAndWriteNoImage() {
            CliRun run = generate("a fox", "--benchmark", "2");

            assertThat(run.exitCode()).as(run.err()).isZero();
            String[] lines = run.out().split("\\R");
            assertThat(lines[0]).isEqualTo("Benchmark: 2 runs after 1 warm-up, 1 image of 64x64 and 2 steps per run");
            assertThat(lines[1]).isEqualTo("run        image      step       outside    heap       RSS");
            assertThat(lines[2]).matches("warm-up    \\d+\\.\\d{3} s +\\d+\\.\\d{3} s +\\d+\\.\\d% +\\d+\\.\\d MB +"
                    + "(\\d+\\.\\d MB|n/a)");
            assertThat(lines[3]).startsWith("1          ");
            assertThat(lines[4]).startsWith("2          ");
            assertThat(lines[5]).matches("per image: median \\d+\\.\\d{3} s, min \\d+\\.\\d{3} s");
            assertThat(lines[6]).matches("per step: median \\d+\\.\\d{3} s, min \\d+\\.\\d{3} s");
            assertThat(lines[7]).matches("outside ONNX Runtime: median \\d+\\.\\d%, max \\d+\\.\\d% of the run time");
            assertThat(lines[8]).matches("heap after runs 1\\.\\.2: \\d+\\.\\d MB -> \\d+\\.\\d MB \\([+-]\\d+\\.\\d MB\\)");
            if (Files.isReadable(MemoryProbe.PROC_STATUS)) { // Linux
                assertThat(lines[9]).matches("RSS after runs 1\\.\\.2: \\d+\\.\\d MB -> \\d+\\.\\d MB \\([+-]\\d+\\.\\d MB\\)");
                assertThat(lines).hasSize(10);
            } else {
                assertThat(lines).hasSize(9);
            }
        }

        @Test
        void refuseAnOutputFile() {
            CliRun run = generate("a fox", "--benchmark", "--output", "x.png");

            assertThat(run.exitCode()).isEqualTo(2);
            assertThat(run.err()).startsWith("sd3: error: --benchmark writes no image: leave out --output");
        }
    }
}
