package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConvertCommandTest {

    @TempDir
    Path tmp;

    @Test
    void helpDescribesBothParameters() {
        CliRun run = CliRun.of("convert", "--help");

        assertThat(run.exitCode()).isZero();
        assertThat(run.out())
                .startsWith("Usage: sd3 convert [-hV] [--verbose] [--clip-g=FILE] [--clip-l=FILE]" + System.lineSeparator()
                        + "                   [--t5=FILE] [--tokenizers=DIR] <checkpoint> <out-dir>")
                .containsPattern("<checkpoint>\\s+The weights: a single-file safetensors checkpoint")
                .containsPattern("<out-dir>\\s+The folder to write")
                .contains("transformer/model.onnx", "scheduler/scheduler_config.json");
    }

    @Test
    void missingArgumentsAreAUsageError() {
        CliRun run = CliRun.of("convert");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err())
                .startsWith("sd3: error: Missing required parameters: '<checkpoint>', '<out-dir>'")
                .contains("Usage: sd3 convert [-hV] [--verbose] [--clip-g=FILE] [--clip-l=FILE]" + System.lineSeparator()
                        + "                   [--t5=FILE] [--tokenizers=DIR] <checkpoint> <out-dir>")
                .endsWith("Run 'sd3 convert --help' for more information." + System.lineSeparator());
        assertThat(run.out()).isEmpty();
    }

    @Test
    void missingOutputFolderIsAUsageError() {
        CliRun run = CliRun.of("convert", "sd3_medium.safetensors");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).startsWith("sd3: error: Missing required parameter: '<out-dir>'");
    }

    @Test
    void nonexistentCheckpointFailsWithAnErrorNamingIt() {
        Path missing = tmp.resolve("no-such.safetensors");

        CliRun run = CliRun.of("convert", missing.toString(), tmp.resolve("out").toString());

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).isEqualTo("sd3: error: " + missing + ": no such file or folder" + System.lineSeparator());
        assertThat(run.out()).isEmpty();
        assertThat(tmp.resolve("out")).doesNotExist();
    }

    @Test
    void verboseAddsTheStackTrace() {
        Path missing = tmp.resolve("no-such.safetensors");

        CliRun run = CliRun.of("convert", "--verbose", missing.toString(), tmp.resolve("out").toString());

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err())
                .startsWith("sd3: error: " + missing + ": no such file or folder")
                .contains("org.sd3j.ModelLoadException", "\tat org.sd3j.onnx.convert.CheckpointConverter.convert");
    }

    @Test
    void verboseBeforeTheCommandAlsoCounts() {
        CliRun run = CliRun.of("--verbose", "convert", tmp.resolve("missing").toString(), tmp.toString());

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).contains("\tat org.sd3j.onnx.convert.CheckpointConverter.convert");
    }

    @Test
    void standaloneEncoderAndTokenizerOptionsParse() {
        ConvertCommand command = new ConvertCommand();
        new picocli.CommandLine(command).parseArgs("--clip-l", "clip_l.safetensors", "--clip-g=clip_g.safetensors",
                "--t5", "t5xxl_fp16.safetensors", "--tokenizers", "sd3-diffusers", "sd3_medium.safetensors", "out");

        org.sd3j.onnx.convert.CheckpointConverter.Options o = command.options();
        assertThat(o.encoderFiles()).containsExactlyInAnyOrderEntriesOf(java.util.Map.of(
                org.sd3j.model.EncoderRole.CLIP_L, Path.of("clip_l.safetensors"),
                org.sd3j.model.EncoderRole.CLIP_G, Path.of("clip_g.safetensors"),
                org.sd3j.model.EncoderRole.T5, Path.of("t5xxl_fp16.safetensors")));
        assertThat(o.tokenizers()).isEqualTo(Path.of("sd3-diffusers"));

        ConvertCommand plain = new ConvertCommand();
        new picocli.CommandLine(plain).parseArgs("sd3_medium.safetensors", "out");
        assertThat(plain.options().encoderFiles()).isEmpty();
        assertThat(plain.options().tokenizers()).isNull();
    }

    @Test
    void helpListsTheStandaloneEncoderAndTokenizerOptions() {
        CliRun run = CliRun.of("convert", "--help");

        assertThat(run.out())
                .containsPattern("--clip-l=FILE\\s+A standalone CLIP-L file")
                .containsPattern("--clip-g=FILE\\s+A standalone CLIP-G file")
                .containsPattern("--t5=FILE\\s+A standalone T5-XXL file")
                .containsPattern("--tokenizers=DIR\\s+A diffusers-style folder holding tokenizer/");
    }

    @Test
    void anInvalidTokenizersFolderFailsBeforeWriting() throws Exception {
        Path checkpoint = org.sd3j.onnx.mmdit.RandomCheckpoint.write(tmp.resolve("tiny.safetensors"), 1, 32, 32, 4,
                false, java.util.Set.of(), org.sd3j.onnx.safetensors.DType.F32, 20240612L);
        Path toks = Files.createDirectories(tmp.resolve("toks"));
        Path out = tmp.resolve("converted");

        CliRun run = CliRun.of("convert", "--tokenizers", toks.toString(), checkpoint.toString(), out.toString());

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).startsWith("sd3: error: " + toks + ": expected a tokenizers folder holding tokenizer/");
        assertThat(out).doesNotExist();
    }

    @Test
    void convertsACheckpointToAnOnnxFolder() throws Exception {
        // Depth 1 (hidden 64, one pre-only context block), 4x4 position grid, context and pooled width 32.
        Path checkpoint = org.sd3j.onnx.mmdit.RandomCheckpoint.write(tmp.resolve("tiny.safetensors"), 1, 32, 32, 4,
                false, java.util.Set.of(), org.sd3j.onnx.safetensors.DType.F32, 20240612L);
        Path out = tmp.resolve("converted");

        CliRun run = CliRun.of("convert", checkpoint.toString(), out.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(out.resolve("transformer/model.onnx")).isNotEmptyFile();
        assertThat(out.resolve("transformer/model.onnx_data")).isNotEmptyFile();
        assertThat(Files.readString(out.resolve("scheduler/scheduler_config.json"))).contains("\"shift\" : 3.0");
        assertThat(Files.readString(out.resolve("model_index.json"))).contains("StableDiffusion3Pipeline");
        assertThat(out.resolve("text_encoder")).doesNotExist();
        assertThat(run.out())
                .startsWith("Converted " + checkpoint + " (SD3 depth 1, ")
                .containsPattern("\\d+\\.\\d MB of weights, shift 3\\.0\\)")
                .containsPattern("Components: transformer\\R")
                .contains("No tokenizer folders", "--tokenizers DIR")
                .containsPattern("Wrote " + java.util.regex.Pattern.quote(out.toString()) + " in \\d+\\.\\d\\d s");
    }
}
