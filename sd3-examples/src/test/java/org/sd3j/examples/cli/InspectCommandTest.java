package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {
    private static final String NL = System.lineSeparator();

    @TempDir
    static Path shared;
    static Path onnx;
    static Path checkpoint;

    @TempDir
    Path tmp;

    @BeforeAll
    static void buildModels() {
        onnx = TinyModel.onnxFolder(shared);
        checkpoint = shared.resolve("checkpoint").resolve("tiny_sd3.safetensors");
    }

    @Test
    void anOnnxFolderListsComponentsTokenizersShiftAndTheTransformersGraph() {
        CliRun run = CliRun.of("inspect", onnx.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.err()).isEmpty();
        assertThat(run.out())
                .startsWith("Model:      " + onnx + " (ONNX folder)" + NL
                        + "Shift:      3.0 (scheduler/scheduler_config.json)" + NL
                        + "Tokenizers: tokenizer (CLIP-L), tokenizer_2 (CLIP-G), tokenizer_3 (T5)" + NL
                        + "Weights:    ")
                .contains(NL + "transformer (MMDiT): SD3 depth 1" + NL
                        + "  depth: 1, hidden size: 64, heads: 1, QK-norm: no, MMDiT-X layers: none, position grid: 8x8,"
                        + NL + "  context width: 192, pooled width: 160, producer: sd3j" + NL)
                .containsPattern("  parameters: \\d+K \\(float32\\), \\d+ kB")
                .containsPattern("  files: transformer/model.onnx \\([\\d.]+ kB\\), transformer/model.onnx_data")
                .contains("  inputs:" + NL
                        + "    hidden_states          float32  [batch, 16, height, width]" + NL
                        + "    timestep               float32  [batch]" + NL
                        + "    encoder_hidden_states  float32  [batch, sequence, 192]" + NL
                        + "    pooled_projections     float32  [batch, 160]" + NL
                        + "  outputs:" + NL
                        + "    out_hidden_states  float32  [batch, 16, height, width]" + NL)
                .contains(NL + "text_encoder (CLIP-L): CLIP width 64, 3 layers" + NL,
                        NL + "text_encoder_2 (CLIP-G): CLIP width 96, 4 layers" + NL,
                        NL + "text_encoder_3 (T5): T5 d_model 192, 2 layers" + NL,
                        NL + "vae_encoder (VAE encoder): 16 latent channels" + NL,
                        NL + "vae_decoder (VAE decoder): 16 latent channels" + NL,
                        "    input_ids  int64  [batch, sequence]")
                .doesNotContain("Absent");
    }

    @Test
    void aCheckpointShowsArchitecturesFromItsHeader() {
        CliRun run = CliRun.of("inspect", checkpoint.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out())
                .startsWith("Model:      " + checkpoint + " (checkpoint)" + NL
                        + "Shift:      3.0 (SD3's default: a checkpoint carries no scheduler config)" + NL
                        + "Tokenizers: none (a single-file checkpoint carries none; 'sd3 convert --tokenizers DIR' "
                        + "adds them)" + NL)
                .contains("transformer (MMDiT): SD3 depth 1",
                        "layout: SD3 checkpoint layout with prefix 'model.diffusion_model.'",
                        "text_encoder_3 (T5): T5 d_model 192, 2 layers",
                        "  d_model: 192, layers: 2, heads: 4, d_ff: 384, vocabulary: 1000",
                        "  latent channels: 16, levels: 4, channels: [32, 64, 64, 64], ResNet blocks per level: 2")
                .doesNotContain("inputs:");
    }

    @Test
    void absentComponentsAreListedWithWhatTheyMean() {
        Path partial = TinyModel.checkpoint(tmp, false);

        CliRun run = CliRun.of("inspect", partial.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).endsWith(NL + "Absent: text_encoder_2 (CLIP-G): its part of the conditioning is zeros"
                + NL);
    }

    @Test
    void aMissingModelIsAnError() {
        Path missing = tmp.resolve("nothing");

        CliRun run = CliRun.of("inspect", missing.toString());

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).isEqualTo("sd3: error: " + missing + ": no such file or folder" + NL);
    }

    @Test
    void aFolderThatIsNoModelIsAnError() {
        CliRun run = CliRun.of("inspect", tmp.toString());

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).startsWith("sd3: error: " + tmp + ": expected a single-file checkpoint, a diffusers "
                + "folder");
    }

    @Test
    void missingModelArgumentIsAUsageError() {
        CliRun run = CliRun.of("inspect");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).startsWith("sd3: error: Missing required parameter: 'MODEL'");
    }
}
