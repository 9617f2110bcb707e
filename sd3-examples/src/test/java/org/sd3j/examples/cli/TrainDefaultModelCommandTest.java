package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainDefaultModelCommandTest {
    @TempDir
    Path dir;

    @Test
    void stopsAfterTheNamedStageWithoutNeedingAnOutput() {
        CliRun run = CliRun.of("train-default-model", "--work", dir.resolve("w").toString(), "--images", "16",
                "--until", "data");

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("Wrote " + dir.resolve("w").resolve("data"));
        assertThat(dir.resolve("w/data/00015.png")).isNotEmptyFile();
    }

    @Test
    void explainsBadArguments() {
        String work = dir.resolve("w").toString();
        assertThat(CliRun.of("train-default-model", "--work", work).err())
                .contains("Missing --output FILE: where to write the trained weights");
        assertThat(CliRun.of("train-default-model", "--work", work, "--until", "later").err())
                .contains("expected data, autoencoder, cache or mmdit, found later");
        assertThat(CliRun.of("train-default-model", "--work", work, "-o", "x", "--steps", "0").err())
                .contains("--steps must be >= 1, found 0");
        CliRun both = CliRun.of("train-default-model", "--work", work, "-o", "x", "--vae-from", "a",
                "--continue-from", "b");
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(both.err()).contains("--vae-from and --continue-from exclude each other");
    }
}
