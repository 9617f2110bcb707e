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
