package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class Sd3CommandTest {

    @Test
    void helpListsTheConvertCommand() {
        CliRun run = CliRun.of("--help");

        assertThat(run.exitCode()).isZero();
        assertThat(run.out())
                .startsWith("Usage: sd3 [-hV] [--verbose] COMMAND")
                .containsPattern("(?m)^\\s+convert\\s+Convert SD3 weights into an ONNX model folder");
        assertThat(run.err()).isEmpty();
    }

    @Test
    void helpListsGenerateAndInspect() {
        CliRun run = CliRun.of("--help");

        assertThat(run.out())
                .containsPattern("(?m)^\\s+generate\\s+Generate images from a text prompt")
                .containsPattern("(?m)^\\s+inspect\\s+Show what a model holds");
    }

    @Test
    void generateHelpShowsTheSynopsisAndTheSamplers() {
        CliRun run = CliRun.of("generate", "--help");

        assertThat(run.exitCode()).isZero();
        assertThat(run.out())
                .startsWith("Usage: sd3 generate [-hV] [--cuda-fallback] [--verbose] [--benchmark[=RUNS]]")
                .contains("[PROMPT]")
                .containsPattern("--sampler=NAME\\s+The sampler: dpmpp_2m, euler, euler_stochastic,\\s+heun")
                .containsPattern("--cuda\\[=ID]")
                .containsPattern("--benchmark\\[=RUNS]");
    }

    @Test
    void versionNamesTheProjectVersion() {
        CliRun run = CliRun.of("--version");

        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).containsPattern("^sd3 \\d+\\.\\d+\\.\\d+").doesNotContain("unknown");
    }

    @Test
    void noCommandIsAUsageError() {
        CliRun run = CliRun.of();

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err())
                .startsWith("sd3: error: Missing required subcommand")
                .contains("Usage: sd3 [-hV] [--verbose] COMMAND")
                .endsWith("Run 'sd3 --help' for more information." + System.lineSeparator());
        assertThat(run.out()).isEmpty();
    }

    @Test
    void misspelledCommandSuggestsTheRealOne() {
        CliRun run = CliRun.of("convrt", "a", "b");

        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err())
                .startsWith("sd3: error: Unmatched arguments from index 0: 'convrt'")
                .contains("Did you mean: sd3 convert?");
    }
}
