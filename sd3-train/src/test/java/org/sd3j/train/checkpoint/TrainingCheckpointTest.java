package org.sd3j.train.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.TensorAssertions;
import org.sd3j.train.lora.LoraSpec;
import org.sd3j.train.lora.LoraTargets;
import org.sd3j.train.lora.LoraWeights;
import org.sd3j.train.lora.LinearLayers;
import org.sd3j.train.optim.AdamW;
import org.sd3j.train.optim.AdamWSettings;
import org.sd3j.train.optim.Ema;
import org.sd3j.train.optim.StateTensors;

class TrainingCheckpointTest {
    private static final String CONFIG = "{\"lr\": 1e-4, \"rank\": 4, \"prompt\": \"a red fox \\u00e9\"}";

    @TempDir
    Path dir;

    /** A small training run: LoRA on a depth-1 model's attention, three AdamW steps with EMA. */
    private static final class Run {
        final LoraWeights lora;
        final AdamW adamW;
        final Ema ema;

        Run(long seed) {
            Map<String, long[]> shapes = LinearLayers.of(new org.sd3j.onnx.mmdit.MmditConfig(1, 64, 1, 2, 16, 16, 8,
                    96, 64, 256, false, java.util.Set.of()));
            lora = LoraWeights.initialize(LoraTargets.diffusersDefault().select(shapes), shapes,
                    LoraSpec.diffusersDefault(seed));
            adamW = AdamW.create(lora.parameters(), AdamWSettings.defaults().withLearningRate(1e-2));
            ema = Ema.create(lora.parameters(), 0.9);
        }

        void step(long seed) {
            java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
            Map<String, Tensor> grads = new LinkedHashMap<>();
            lora.parameters().forEach((k, p) -> {
                Tensor g = Tensor.zeros(p.shape());
                for (int i = 0; i < g.size(); i++) {
                    g.set(i, (float) r.nextGaussian());
                }
                grads.put(k, g);
            });
            adamW.step(grads);
            ema.update(lora.parameters());
        }

        TrainingCheckpoint checkpoint() {
            return new TrainingCheckpoint(adamW.stepCount(), lora.parameters(), adamW.state(),
                    Optional.of(ema.state()), Map.of("noise.seed", -7L, "noise.draws", 1L << 40, "data.epoch", 3L),
                    CONFIG);
        }
    }

    private static void assertSame(TrainingCheckpoint actual, TrainingCheckpoint expected) {
        assertThat(actual.step()).isEqualTo(expected.step());
        assertTensors(actual.parameters(), expected.parameters());
        assertThat(actual.optimizer().step()).isEqualTo(expected.optimizer().step());
        assertTensors(actual.optimizer().tensors(), expected.optimizer().tensors());
        assertThat(actual.ema().isPresent()).isEqualTo(expected.ema().isPresent());
        expected.ema().ifPresent(e -> {
            assertThat(actual.ema().get().step()).isEqualTo(e.step());
            assertTensors(actual.ema().get().tensors(), e.tensors());
        });
        assertThat(actual.rngState()).containsExactlyEntriesOf(expected.rngState());
        assertThat(actual.configJson()).isEqualTo(expected.configJson());
    }

    private static void assertTensors(Map<String, Tensor> actual, Map<String, Tensor> expected) {
        assertThat(actual.keySet()).as("names in order").containsExactlyElementsOf(expected.keySet());
        expected.forEach((k, t) -> TensorAssertions.assertBitEqual(actual.get(k), t, k));
    }

    @Test
    void savesAndLoadsEverythingBitForBit() {
        Run run = new Run(1);
        for (int i = 0; i < 3; i++) {
            run.step(100 + i);
        }
        TrainingCheckpoint cp = run.checkpoint();
        Path f = dir.resolve("checkpoint-3.safetensors");
        cp.save(f);
        TrainingCheckpoint loaded = TrainingCheckpoint.load(f);
        assertSame(loaded, cp);
        assertThat(loaded.optimizer().step()).isEqualTo(3);
        assertThat(loaded.ema().orElseThrow().step()).isEqualTo(3);
        assertThat(loaded.parameters().get("joint_blocks.0.x_block.attn.qkv.lora_A.weight"))
                .isNotSameAs(cp.parameters().get("joint_blocks.0.x_block.attn.qkv.lora_A.weight"));
    }

    @Test
    void resumingFromACheckpointContinuesTheRunExactly() {
        Run continuous = new Run(2);
        Run interrupted = new Run(2);
        for (int i = 0; i < 3; i++) {
            continuous.step(200 + i);
            interrupted.step(200 + i);
        }
        Path f = dir.resolve("c.safetensors");
        interrupted.checkpoint().save(f);

        TrainingCheckpoint loaded = TrainingCheckpoint.load(f);
        Run resumed = new Run(99); // other initial weights: everything must come from the checkpoint
        resumed.lora.parameters().forEach((k, p) -> p.copyFrom(loaded.parameters().get(k)));
        resumed.adamW.loadState(loaded.optimizer());
        resumed.ema.loadState(loaded.ema().orElseThrow());
        for (int i = 3; i < 5; i++) {
            continuous.step(200 + i);
            resumed.step(200 + i);
        }
        assertSame(resumed.checkpoint(), continuous.checkpoint());
    }

    @Test
    void keepsSpecialFloatsAndLargeCountersWithoutEma() {
        Tensor odd = Tensor.of(new float[] {Float.intBitsToFloat(0x7fc00001), -0f, Float.NEGATIVE_INFINITY,
            Float.MIN_VALUE}, 2, 2);
        TrainingCheckpoint cp = new TrainingCheckpoint(Long.MAX_VALUE, Map.of("w", odd),
                new StateTensors(0, Map.of()), Optional.empty(), Map.of("min", Long.MIN_VALUE), "[]");
        Path f = dir.resolve("odd.safetensors");
        cp.save(f);
        TrainingCheckpoint loaded = TrainingCheckpoint.load(f);
        assertSame(loaded, cp);
        assertThat(Float.floatToRawIntBits(loaded.parameters().get("w").get(0))).isEqualTo(0x7fc00001);
        assertThat(loaded.ema()).isEmpty();
    }

    @Test
    void overwritingReplacesTheOldCheckpointAndLeavesNoTempFiles() throws IOException {
        Run run = new Run(3);
        Path f = dir.resolve("latest.safetensors");
        run.checkpoint().save(f);
        run.step(1);
        run.checkpoint().save(f);
        assertThat(TrainingCheckpoint.load(f).step()).isEqualTo(1);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("latest.safetensors");
        }
    }

    @Test
    void aTruncatedFileIsAModelLoadExceptionNamingIt() throws IOException {
        Path f = dir.resolve("c.safetensors");
        new Run(4).checkpoint().save(f);
        byte[] bytes = Files.readAllBytes(f);
        for (int keep : new int[] {bytes.length - 1, bytes.length / 2, 20, 3, 0}) {
            Path cut = dir.resolve("cut-" + keep + ".safetensors");
            Files.write(cut, java.util.Arrays.copyOf(bytes, keep));
            assertThatThrownBy(() -> TrainingCheckpoint.load(cut))
                    .as("kept %d bytes", keep)
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessageStartingWith(cut + ": ")
                    .satisfies(e -> assertThat(((ModelLoadException) e).path()).contains(cut));
        }
    }

    @Test
    void corruptedTensorBytesFailTheChecksum() throws IOException {
        Path f = dir.resolve("c.safetensors");
        new Run(5).checkpoint().save(f);
        byte[] bytes = Files.readAllBytes(f);
        bytes[bytes.length - 5] ^= 0x10; // inside the last tensor's data
        Files.write(f, bytes);
        assertThatThrownBy(() -> TrainingCheckpoint.load(f))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageStartingWith(f + ": is corrupt: the tensor data's CRC32C is ")
                .hasMessageContaining(", the header records ");
    }

    @Test
    void otherSafetensorsFilesAreNotCheckpoints() {
        Path f = dir.resolve("lora.safetensors");
        SafetensorsWriter.create().add("w", Tensor.zeros(2)).write(f);
        assertThatThrownBy(() -> TrainingCheckpoint.load(f))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(f + ": is not an sd3j training checkpoint: expected __metadata__ 'sd3j.format' ="
                        + " 'sd3j-training-checkpoint', found nothing");
        Path missing = dir.resolve("missing.safetensors");
        assertThatThrownBy(() -> TrainingCheckpoint.load(missing))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageStartingWith(missing.toString());
    }

    @Test
    void configMustBeJson() {
        TrainingCheckpoint cp = new TrainingCheckpoint(0, Map.of(), new StateTensors(0, Map.of()), Optional.empty(),
                Map.of(), "{not json");
        assertThatThrownBy(() -> cp.save(dir.resolve("x.safetensors")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("configJson must be valid JSON, found '{not json': ");
        assertThat(dir.resolve("x.safetensors")).doesNotExist();
    }

    @Test
    void componentsAreChecked() {
        assertThatThrownBy(() -> new TrainingCheckpoint(-1, Map.of(), new StateTensors(0, Map.of()),
                Optional.empty(), Map.of(), "{}"))
                .hasMessage("step must be >= 0, found -1");
        assertThatThrownBy(() -> new TrainingCheckpoint(0, Map.of(), null, Optional.empty(), Map.of(), "{}"))
                .hasMessage("optimizer must be non-null, found null");
    }
}
