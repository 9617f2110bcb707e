package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.examples.shapes.PromptAdherence;

class EvalCommandTest {
    @TempDir
    Path dir;

    @Test
    void scoresBothEncoderSetsAndWritesTheFiguresAndImages() throws Exception {
        Path json = dir.resolve("eval.json");
        Path images = dir.resolve("images");

        CliRun run = CliRun.of("eval", "--prompts", "3", "--steps", "2", "--json", json.toString(),
                "--save-images", images.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("Prompt adherence on 3 held-out captions, 2 steps, guidance ")
                .containsPattern("all encoders +\\d+\\.\\d%")
                .containsPattern("T5 dropped +\\d+\\.\\d%");
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertThat(report.get("prompts").asInt()).isEqualTo(3);
        assertThat(report.get("runs")).hasSize(2);
        for (JsonNode r : report.get("runs")) {
            double accuracy = r.get("attribute_accuracy").asDouble();
            assertThat(accuracy).isBetween(0.0, 1.0);
            assertThat(r.get("frechet_distance").asDouble()).isNotNegative();
            assertThat(r.get("attributes").has("color")).isTrue();
        }
        try (var files = Files.list(images.resolve("all"))) {
            assertThat(files.count()).isEqualTo(3);
        }
        assertThat(images.resolve("no-t5/00002.png")).isNotEmptyFile();
    }

    @Test
    void scoresTheAutoencodersReconstructionsOnRequest() throws Exception {
        Path json = dir.resolve("eval.json");

        CliRun run = CliRun.of("eval", "--prompts", "4", "--steps", "1", "--runs", "all", "--reconstructions",
                "--captions", "validation", "--guidance", "2.5", "--json", json.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("Prompt adherence on 4 validation captions, 1 steps, guidance 2.5:");
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertThat(report.get("captions").asText()).isEqualTo("validation");
        assertThat(report.get("caption_seed").asLong()).isEqualTo(PromptAdherence.VALIDATION_SEED);
        assertThat(report.get("guidance").asDouble()).isEqualTo(2.5);
        assertThat(run.out()).containsPattern("VAE only +\\d+\\.\\d%");
        JsonNode r = new ObjectMapper().readTree(json.toFile()).get("reconstructions");
        assertThat(r.get("attribute_accuracy").asDouble()).isBetween(0.0, 1.0);
        assertThat(r.get("attributes").get("background").get("checked").asInt()).isEqualTo(4);
        assertThat(r.has("seconds_per_image")).isFalse();
    }

    @Test
    void rejectsTooFewPromptsAndUnknownRuns() {
        CliRun few = CliRun.of("eval", "--prompts", "1");
        assertThat(few.exitCode()).isEqualTo(2);
        assertThat(few.err()).contains("--prompts must be >= 2, found 1");

        CliRun unknown = CliRun.of("eval", "--runs", "all,no-clip");
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err()).contains("expected all or no-t5, found no-clip");
    }
}
