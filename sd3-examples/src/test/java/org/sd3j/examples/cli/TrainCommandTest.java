package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.image.Image;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.LoraTrainer;
import org.sd3j.train.checkpoint.TrainingCheckpoint;
import org.sd3j.train.lora.LoraFile;
import org.sd3j.train.lora.LoraFiles;
import org.sd3j.train.lora.LoraLayout;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import picocli.CommandLine;

/**
 * {@code sd3 train} end to end on {@link TinyModel} (the combined single-file checkpoint as --model, its ONNX
 * folder with tokenizers as --encoders) and four 64x64 captioned PNGs, a few steps at a time; and its errors.
 */
class TrainCommandTest {
    private static final String NL = System.lineSeparator();
    /** The attention adapters of the depth-1 MMDiT: its only block is the last, whose context stream has no proj. */
    private static final List<String> ATTENTION = List.of("joint_blocks.0.context_block.attn.qkv",
            "joint_blocks.0.x_block.attn.proj", "joint_blocks.0.x_block.attn.qkv");

    @TempDir
    static Path shared;
    static Path checkpoint;
    static Path encoders;

    @TempDir
    Path tmp;

    @BeforeAll
    static void buildModel() {
        encoders = TinyModel.onnxFolder(shared);
        checkpoint = shared.resolve("checkpoint").resolve("tiny_sd3.safetensors");
        assertThat(checkpoint).isRegularFile();
    }

    /** Four 64x64 images with distinct patterns and their .txt captions. */
    static Path dataset(Path dir) {
        String[] captions = {"a red fox", "a blue sky", "a green field", "a dark night"};
        for (int i = 0; i < captions.length; i++) {
            Random r = new Random(i);
            byte[] rgb = new byte[64 * 64 * 3];
            for (int p = 0; p < rgb.length; p += 3) {
                int block = (p / 3 % 64) / 8 + (p / 3 / 64) / 8 * 8;
                r.setSeed(i * 1000L + block);
                rgb[p] = (byte) r.nextInt(256);
                rgb[p + 1] = (byte) r.nextInt(256);
                rgb[p + 2] = (byte) r.nextInt(256);
            }
            Image.of(64, 64, rgb).writePng(dir.resolve("img" + i + ".png"));
            write(dir.resolve("img" + i + ".txt"), captions[i]);
        }
        return dir;
    }

    static void write(Path file, String text) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code train --model <tiny> --encoders <tiny onnx> --resolution 64 --bucket-step 16 --warmup 2 <args>}. */
    static CliRun train(String... args) {
        return CliRun.of(trainArgs(args));
    }

    static String[] trainArgs(String... args) {
        List<String> all = new ArrayList<>(List.of("train", "--model", checkpoint.toString(), "--encoders",
                encoders.toString(), "--resolution", "64", "--bucket-step", "16", "--warmup", "2"));
        all.addAll(Arrays.asList(args));
        return all.toArray(String[]::new);
    }

    @Nested
    class Trains {
        @Test
        void andWritesTheLoraWithItsProvenance() {
            Path data = dataset(tmp.resolve("photos"));
            Path out = tmp.resolve("out.safetensors");

            CliRun run = train("--data", data.toString(), "--steps", "20", "--rank", "4", "--output", out.toString());

            assertThat(run.exitCode()).as(run.err()).isZero();
            LoraFile lora = LoraFiles.read(out);
            assertThat(lora.layout()).isEqualTo(LoraLayout.DIFFUSERS);
            assertThat(lora.weights().keys()).containsExactlyInAnyOrderElementsOf(ATTENTION);
            assertThat(lora.weights().adapter("joint_blocks.0.x_block.attn.qkv").rank()).isEqualTo(4);
            assertThat(tensorNames(out)).contains("transformer.transformer_blocks.0.attn.to_q.lora_A.weight",
                    "transformer.transformer_blocks.0.attn.add_k_proj.lora_B.weight",
                    "transformer.transformer_blocks.0.attn.to_out.0.lora_A.weight");
            assertThat(lora.metadata())
                    .containsEntry("sd3j.base_model", "tiny_sd3.safetensors")
                    .containsEntry("sd3j.dataset", data.toAbsolutePath().normalize().toString())
                    .containsEntry("sd3j.steps", "20")
                    .containsEntry("sd3j.seed", "0")
                    .containsEntry("sd3j.resolution", "64 (step 16)")
                    .containsEntry("sd3j.weights", "trained")
                    .containsEntry("sd3j.version", VersionProvider.projectVersion())
                    .containsKey("sd3j.settings");
            assertThat(lora.metadata().get("sd3j.settings")).contains("\"rank\":4", "\"steps\":20", "\"seed\":0");
            // B starts at zero: a trained adapter has moved it.
            Tensor b = lora.weights().adapter("joint_blocks.0.x_block.attn.qkv").b();
            assertThat(b.maxAbsDiff(Tensor.zeros(b.shape()))).isGreaterThan(0);
            assertThat(Path.of(out + ".d").resolve(LoraTrainer.CHECKPOINT_FILE)).isRegularFile();
        }

        @Test
        void printingTheCacheProgressAndASummary() {
            Path data = dataset(tmp.resolve("photos"));
            Path out = tmp.resolve("out.safetensors");

            CliRun run = train("--data", data.toString(), "--steps", "3", "--output", out.toString());

            assertThat(run.exitCode()).as(run.err()).isZero();
            Path cache = data.resolve(".sd3j-cache");
            assertThat(cache.resolve("manifest.json")).isRegularFile();
            assertThat(run.err())
                    .startsWith("Dataset " + data.toAbsolutePath().normalize() + ": 4 images in 1 bucket (64x64: 4)"
                            + NL + "Loaded " + encoders + " (ONNX folder) in ")
                    .contains("Building the cache " + cache + NL
                            + "Precomputing latents and text encodings of 4 images..." + NL + "Cached 4 items in ")
                    .contains("Training 3 adapters of rank 4 (")
                    .containsPattern("step 1/3 \\[######--------------\\] loss \\d+\\.\\d{4} \\(last \\d+\\.\\d{4}\\), "
                            + "lr 0\\.00e\\+00, \\d+\\.\\d\\d (it/s|s/it), ETA \\d+:\\d\\d")
                    .containsPattern("step 3/3 \\[####################\\] loss \\d+\\.\\d{4} \\(last \\d+\\.\\d{4}\\), "
                            + "lr 1\\.00e-04, .*ETA 0:00");
            assertThat(run.out()).matches("Trained steps 1-3 of 3 in \\d+\\.\\d\\d s, loss \\d+\\.\\d{4} \\(smoothed\\), "
                    + "\\d+\\.\\d{4} \\(last step\\)" + NL + "Wrote " + java.util.regex.Pattern.quote(out.toString())
                    + " \\(diffusers layout, 3 adapters of rank 4, alpha 4\\)" + NL);
        }

        @Test
        void inTheKohyaLayoutWithKohyasTargetsAndTheEmaWeights() {
            Path out = tmp.resolve("kohya.safetensors");

            CliRun run = train("--data", dataset(tmp.resolve("photos")).toString(), "--steps", "2", "--rank", "2",
                    "--alpha", "1", "--targets", "kohya", "--layout", "kohya", "--ema", "0.9", "--output",
                    out.toString());

            assertThat(run.exitCode()).as(run.err()).isZero();
            LoraFile lora = LoraFiles.read(out);
            assertThat(lora.layout()).isEqualTo(LoraLayout.KOHYA);
            assertThat(lora.weights().keys()).contains("joint_blocks.0.x_block.mlp.fc1",
                    "joint_blocks.0.x_block.adaLN_modulation.1").containsAll(ATTENTION);
            assertThat(lora.weights().adapter("joint_blocks.0.x_block.mlp.fc1").alpha()).isEqualTo(1.0);
            assertThat(tensorNames(out)).contains("lora_unet_joint_blocks_0_x_block_attn_qkv.lora_down.weight",
                    "lora_unet_joint_blocks_0_x_block_attn_qkv.lora_up.weight",
                    "lora_unet_joint_blocks_0_x_block_attn_qkv.alpha");
            assertThat(lora.metadata()).containsEntry("sd3j.weights", "ema");
            assertThat(run.out()).contains("(kohya layout, ", " adapters of rank 2, alpha 1, EMA weights)");
        }

        @Test
        void andASecondRunWithMoreStepsResumesFromTheCheckpointAndReusesTheCache() {
            Path data = dataset(tmp.resolve("photos"));
            Path out = tmp.resolve("out.safetensors");
            CliRun first = train("--data", data.toString(), "--steps", "20", "--output", out.toString());
            assertThat(first.exitCode()).as(first.err()).isZero();

            CliRun second = train("--data", data.toString(), "--steps", "30", "--output", out.toString());

            assertThat(second.exitCode()).as(second.err()).isZero();
            assertThat(second.err())
                    .contains("Reusing the cache " + data.resolve(".sd3j-cache") + " (4 items)")
                    .contains("Resuming from step 20 of 30 (" + Path.of(out + ".d").resolve("checkpoint.safetensors")
                            + ")")
                    .contains("step 30/30").doesNotContain("step 20/30");
            assertThat(second.out()).startsWith("Trained steps 21-30 of 30 in ");
            assertThat(LoraFiles.read(out).metadata()).containsEntry("sd3j.steps", "30");
            assertThat(TrainingCheckpoint.load(Path.of(out + ".d").resolve(LoraTrainer.CHECKPOINT_FILE)).step())
                    .isEqualTo(30);
        }

        @Test
        void andARunOfAFinishedCommandWritesTheCheckpointsAdaptersAgain() throws IOException {
            Path data = dataset(tmp.resolve("photos"));
            Path out = tmp.resolve("out.safetensors");
            assertThat(train("--data", data.toString(), "--steps", "2", "--output", out.toString()).exitCode())
                    .isZero();
            Path first = Files.move(out, tmp.resolve("first.safetensors"));

            CliRun again = train("--data", data.toString(), "--steps", "1", "--output", out.toString());

            assertThat(again.exitCode()).as(again.err()).isZero();
            assertThat(again.err()).doesNotContain("Resuming").doesNotContain("step 1/");
            assertThat(again.out()).startsWith("Nothing to train: the checkpoint checkpoint.safetensors in "
                    + Path.of(out + ".d") + " is at step 2, past --steps 1; its adapters are written as they are" + NL);
            LoraFile written = LoraFiles.read(out);
            assertThat(written.weights().adapter("joint_blocks.0.x_block.attn.qkv").b().maxAbsDiff(
                    LoraFiles.read(first).weights().adapter("joint_blocks.0.x_block.attn.qkv").b())).isZero();
            assertThat(written.metadata()).containsEntry("sd3j.steps", "2");
        }

        @Test
        void rebuildingTheCacheWhenACaptionChanged() {
            Path data = dataset(tmp.resolve("photos"));
            Path cache = tmp.resolve("cache");
            assertThat(train("--data", data.toString(), "--cache", cache.toString(), "--steps", "1", "--output",
                    tmp.resolve("a.safetensors").toString()).exitCode()).isZero();
            write(data.resolve("img2.txt"), "a yellow field");

            CliRun run = train("--data", data.toString(), "--cache", cache.toString(), "--steps", "1", "--output",
                    tmp.resolve("b.safetensors").toString());

            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(run.err()).contains("Rebuilding the cache " + cache + ": the caption of img2.png changed");
        }

        @Test
        void andStopsOnRequestAfterTheStepWithACheckpointThatTheNextRunResumesFrom() {
            Path data = dataset(tmp.resolve("photos"));
            Path out = tmp.resolve("out.safetensors");
            CommandLine cmd = Sd3.commandLine();
            TrainCommand command = cmd.getSubcommands().get("train").getCommand();
            command.stopHandle = Runnable::run; // as Ctrl-C does, at once: the first step finishes, then it stops

            CliRun stopped = CliRun.of(cmd, trainArgs("--data", data.toString(), "--steps", "5", "--checkpoint-every",
                    "100", "--output", out.toString()));

            Path checkpointFile = Path.of(out + ".d").resolve(LoraTrainer.CHECKPOINT_FILE);
            assertThat(stopped.exitCode()).as(stopped.err()).isEqualTo(TrainCommand.STOPPED);
            assertThat(stopped.err()).contains("Stopping after step 1 with a checkpoint")
                    .endsWith("Stopped at step 1 of 5; checkpoint " + checkpointFile + ". Run the same command again "
                            + "to resume from there." + NL);
            assertThat(out).doesNotExist();
            assertThat(TrainingCheckpoint.load(checkpointFile).step()).isEqualTo(1);

            CliRun resumed = train("--data", data.toString(), "--steps", "5", "--checkpoint-every", "100",
                    "--output", out.toString());

            assertThat(resumed.exitCode()).as(resumed.err()).isZero();
            assertThat(resumed.err()).contains("Resuming from step 1 of 5 (" + checkpointFile + ")");
            assertThat(resumed.out()).startsWith("Trained steps 2-5 of 5 in ");
            assertThat(out).isRegularFile();
        }
    }

    @Nested
    class ExportsTheStepGraph {
        @Test
        void withTheTrainingInputsAndTheLossAndGradientOutputs() throws IOException {
            Path graph = tmp.resolve("graphs").resolve("step.onnx");

            CliRun run = CliRun.of("train", "--model", checkpoint.toString(), "--export-graph", graph.toString(),
                    "--export-only");

            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(run.out()).startsWith("Wrote the step graph " + graph + " (weights in step.onnx_data): ");
            assertThat(graph.resolveSibling("step.onnx_data")).isRegularFile();
            ModelProto model = ModelProto.parseFrom(Files.readAllBytes(graph));
            List<String> inputs = model.getGraph().getInputList().stream().map(ValueInfoProto::getName).toList();
            List<String> outputs = model.getGraph().getOutputList().stream().map(ValueInfoProto::getName).toList();
            // Adapters are named by checkpoint key, here with the checkpoint's model.diffusion_model. prefix.
            assertThat(inputs).startsWith("x0", "noise", "sigma", "encoder_hidden_states", "pooled_projections")
                    .contains("model.diffusion_model.joint_blocks.0.x_block.attn.qkv.lora_A.weight",
                            "model.diffusion_model.joint_blocks.0.x_block.attn.qkv.lora_B.weight");
            assertThat(inputs.stream().filter(n -> n.endsWith(".lora_A.weight"))).hasSize(ATTENTION.size());
            assertThat(outputs).contains("loss", "grad.model.diffusion_model.joint_blocks.0.x_block.attn.qkv.lora_A.weight")
                    .allMatch(n -> n.equals("loss") || n.startsWith("grad.") || n.equals("grad_sum_of_squares"));
            assertThat(outputs).hasSize(2 + 2 * ATTENTION.size()).endsWith("grad_sum_of_squares");
            assertThat(tmp.resolve("graphs").resolve("step.onnx.d")).doesNotExist();
        }

        @Test
        void beforeTrainingAsUsual() {
            Path graph = tmp.resolve("step.onnx");
            Path out = tmp.resolve("out.safetensors");

            CliRun run = train("--data", dataset(tmp.resolve("photos")).toString(), "--steps", "1", "--export-graph",
                    graph.toString(), "--output", out.toString());

            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(graph).isRegularFile();
            assertThat(out).isRegularFile();
            assertThat(run.out()).startsWith("Wrote the step graph " + graph).contains("Wrote " + out);
        }
    }

    @Nested
    class Fails {
        @Test
        void whenTheDataFolderIsMissing() {
            Path missing = tmp.resolve("no-photos");

            CliRun run = train("--data", missing.toString(), "--output", tmp.resolve("o.safetensors").toString());

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).isEqualTo("sd3: error: --data " + missing + ": no such folder" + NL);
        }

        @Test
        void whenTheDatasetHasNoImages() throws IOException {
            Path empty = Files.createDirectories(tmp.resolve("empty"));
            write(empty.resolve("notes.txt"), "no pictures here");

            CliRun run = train("--data", empty.toString(), "--output", tmp.resolve("o.safetensors").toString());

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).startsWith("sd3: error: No image files (").contains(empty.toString()
                    + ": add images with captions").doesNotContain("\tat ");
        }

        @Test
        void whenTheCheckpointIsInTheDiffusersLayout() {
            Path diffusers = tmp.resolve("diffusion_pytorch_model.safetensors");
            SafetensorsWriter.create()
                    .add("pos_embed.proj.weight", Tensor.zeros(4, 16, 2, 2))
                    .add("transformer_blocks.0.attn.to_q.weight", Tensor.zeros(4, 4))
                    .write(diffusers);

            CliRun run = CliRun.of("train", "--model", diffusers.toString(), "--data",
                    dataset(tmp.resolve("photos")).toString(), "--output", tmp.resolve("o.safetensors").toString());

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).isEqualTo("sd3: error: checkpoint must use SD3's original key layout for LoRA "
                    + "training, found diffusers transformer layout in " + diffusers + NL);
        }

        @Test
        void whenTheEncodersHaveNoTokenizers() {
            Path bare = TinyModel.checkpoint(tmp.resolve("bare"), false);

            CliRun run = CliRun.of("train", "--model", bare.toString(), "--data",
                    dataset(tmp.resolve("photos")).toString(), "--resolution", "64", "--bucket-step", "16",
                    "--output", tmp.resolve("o.safetensors").toString());

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).contains("sd3: error: " + bare + " has no tokenizers for its text encoders",
                    "give --encoders DIR").doesNotContain("\tat ");
        }

        @Test
        void onANumberOutOfRangeAsAUsageError() {
            CliRun rank = train("--data", tmp.toString(), "--output", "o.safetensors", "--rank", "0");
            CliRun lr = train("--data", tmp.toString(), "--output", "o.safetensors", "--lr", "-1");
            CliRun resolution = CliRun.of("train", "--model", checkpoint.toString(), "--data", tmp.toString(),
                    "--output", "o.safetensors", "--resolution", "100");
            CliRun dropout = train("--data", tmp.toString(), "--output", "o.safetensors", "--caption-dropout", "2");
            CliRun warmup = CliRun.of("train", "--model", checkpoint.toString(), "--data", tmp.toString(),
                    "--output", "o.safetensors", "--steps", "10", "--warmup", "10", "--schedule", "cosine");

            assertThat(List.of(rank, lr, resolution, dropout, warmup)).allSatisfy(r -> {
                assertThat(r.exitCode()).isEqualTo(2);
                assertThat(r.err()).contains(NL + "Usage: sd3 train --model CKPT").contains("sd3 train --help");
            });
            assertThat(rank.err()).startsWith("sd3: error: --rank must be >= 1, found 0" + NL);
            assertThat(lr.err()).startsWith("sd3: error: --lr must be finite and > 0, found -1.0" + NL);
            assertThat(resolution.err()).startsWith("sd3: error: --resolution must be a positive multiple of "
                    + "--bucket-step (64), found 100" + NL);
            assertThat(dropout.err()).startsWith("sd3: error: --caption-dropout must be in [0, 1], found 2.0" + NL);
            assertThat(warmup.err()).startsWith("sd3: error: --warmup must be < --steps (10) with --schedule "
                    + "cosine, found 10" + NL);
        }

        @Test
        void onAnUnknownChoice() {
            CliRun layout = train("--data", tmp.toString(), "--output", "o.safetensors", "--layout", "comfy");
            CliRun targets = train("--data", tmp.toString(), "--output", "o.safetensors", "--targets", "all,kohya");

            assertThat(layout.exitCode()).isEqualTo(2);
            assertThat(layout.err()).startsWith("sd3: error: --layout must be one of [diffusers, kohya], found 'comfy'");
            assertThat(targets.exitCode()).isEqualTo(2);
            assertThat(targets.err()).startsWith("sd3: error: --targets must be one of [attention, kohya, all] alone, "
                    + "or globs, found all,kohya");
        }

        @Test
        void whenTargetsSelectNothing() {
            CliRun run = train("--data", tmp.toString(), "--output", "o.safetensors", "--targets", "nothing.*");

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).startsWith("sd3: error: targets must select at least one Linear module, found none");
        }

        @Test
        void whenRequiredOptionsAreMissing() {
            CliRun noData = train("--output", "o.safetensors");
            CliRun noOutput = train("--data", tmp.toString());
            CliRun exportOnly = train("--export-only");
            CliRun notSafetensors = train("--data", tmp.toString(), "--output", "lora.pt");

            assertThat(noData.exitCode()).isEqualTo(2);
            assertThat(noData.err()).startsWith("sd3: error: Missing required option: '--data=DIR'");
            assertThat(noOutput.exitCode()).isEqualTo(2);
            assertThat(noOutput.err()).startsWith("sd3: error: Missing required option: '--output=LORA.safetensors'");
            assertThat(exportOnly.exitCode()).isEqualTo(2);
            assertThat(exportOnly.err()).startsWith("sd3: error: --export-only needs --export-graph F.onnx");
            assertThat(notSafetensors.exitCode()).isEqualTo(2);
            assertThat(notSafetensors.err()).startsWith("sd3: error: --output must be a .safetensors file, found "
                    + "lora.pt");
        }
    }

    static List<String> tensorNames(Path file) {
        try (TensorSource source = Safetensors.open(file)) {
            return List.copyOf(source.names());
        }
    }
}
