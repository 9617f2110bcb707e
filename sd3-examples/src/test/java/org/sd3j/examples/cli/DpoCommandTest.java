package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.lora.LoraFile;
import org.sd3j.train.lora.LoraFiles;

/** {@code sd3 dpo} end to end on {@link TinyModel} and two preference pairs; and its errors. */
class DpoCommandTest {
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
    }

    private Path pairs() {
        Path data = TrainCommandTest.dataset(tmp.resolve("prefs"));
        Path file = data.resolve("pairs.jsonl");
        TrainCommandTest.write(file, String.join("\n",
                "{\"prompt\": \"a red fox\", \"chosen\": \"img0.png\", \"rejected\": \"img1.png\"}",
                "{\"caption\": \"a green field\", \"jpg_0\": \"img2.png\", \"jpg_1\": \"img3.png\", \"label_0\": 0}",
                "{\"caption\": \"a tie\", \"jpg_0\": \"img2.png\", \"jpg_1\": \"img3.png\", \"label_0\": 0.5}"));
        return file;
    }

    private static CliRun dpo(Path pairs, Path out, String... more) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("dpo", "--model",
                checkpoint.toString(), "--encoders", encoders.toString(), "--pairs", pairs.toString(), "--output",
                out.toString(), "--resolution", "64", "--bucket-step", "16", "--warmup", "1", "--batch", "2",
                "--beta", "100"));
        args.addAll(java.util.List.of(more));
        return CliRun.of(args.toArray(String[]::new));
    }

    @Test
    void tunesWritesTheLoraWithItsProvenanceAndReusesTheCache() {
        Path pairs = pairs();
        Path out = tmp.resolve("prefer.safetensors");
        CliRun run = dpo(pairs, out, "--steps", "3", "--rank", "4");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.err()).contains("2 pairs, 1 ties dropped").contains("Cached 2 pairs");
        assertThat(run.out()).contains("Last 3 steps: loss ").contains("Wrote " + out);
        LoraFile lora = LoraFiles.read(out);
        assertThat(lora.metadata()).containsEntry("sd3j.steps", "3")
                .containsEntry("sd3j.dataset", pairs.toAbsolutePath().normalize().toString());
        assertThat(lora.metadata().get("sd3j.settings")).contains("\"method\":\"diffusion-dpo\"", "\"beta\":100.0",
                "\"rank\":4");
        Tensor b = lora.weights().adapter("joint_blocks.0.x_block.attn.qkv").b();
        assertThat(b.maxAbsDiff(Tensor.zeros(b.shape()))).isGreaterThan(0);

        CliRun again = dpo(pairs, tmp.resolve("again.safetensors"), "--steps", "1");
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(again.err()).contains("Reusing the cache");
    }

    @Test
    void badPairsAndOptionsAreClearErrors() {
        Path bad = tmp.resolve("bad.jsonl");
        TrainCommandTest.write(bad, "{\"prompt\": \"x\", \"chosen\": \"a.png\"}");
        CliRun run = dpo(bad, tmp.resolve("o.safetensors"));
        assertThat(run.exitCode()).isNotZero();
        assertThat(run.err()).contains("line 1: rejected must be a non-blank string").doesNotContain("\tat ");

        CliRun beta = dpo(pairs(), tmp.resolve("o.safetensors"), "--beta", "0");
        assertThat(beta.exitCode()).isNotZero();
        assertThat(beta.err()).contains("--beta");
        CliRun errors = dpo(pairs(), tmp.resolve("o.safetensors"), "--errors", "max");
        assertThat(errors.exitCode()).isNotZero();
        assertThat(errors.err()).contains("--errors").contains("mean");
    }

    @Test
    void dpoPairsWritesAPairsFileThatDpoReads() throws Exception {
        Path dir = tmp.resolve("made");
        CliRun run = CliRun.of("dpo-pairs", "--model", encoders.toString(), "--prompts", "4", "--candidates", "2",
                "--steps", "2", "--output", dir.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("Wrote (\\d+) pairs from 4 captions")
                .matcher(run.out());
        assertThat(m.find()).as(run.out()).isTrue();
        int n = Integer.parseInt(m.group(1));
        org.sd3j.train.data.PreferencePairs read = org.sd3j.train.data.PreferencePairs.read(dir.resolve("pairs.jsonl"));
        assertThat(read.pairs()).hasSize(n);
        for (org.sd3j.train.data.PreferencePair p : read.pairs()) {
            assertThat(p.chosen()).isRegularFile();
            assertThat(p.rejected()).isRegularFile();
        }
    }
}
