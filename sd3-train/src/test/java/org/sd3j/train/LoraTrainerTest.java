package org.sd3j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.TrainingDivergedException;
import org.sd3j.onnx.model.Sd3Model;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.onnx.mmdit.MmditDenoiser;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.checkpoint.TrainingCheckpoint;
import org.sd3j.train.data.AspectBuckets;
import org.sd3j.train.data.BucketSize;
import org.sd3j.train.data.CachedDataset;
import org.sd3j.train.data.EncodingModel;
import org.sd3j.train.data.ImageCaptionDataset;
import org.sd3j.train.data.ModelFingerprint;
import org.sd3j.train.data.PrecomputeCache;
import org.sd3j.train.data.TestImages;
import org.sd3j.train.data.TinySd3;
import org.sd3j.train.lora.LoraFile;
import org.sd3j.train.lora.LoraFiles;
import org.sd3j.train.lora.LoraInit;
import org.sd3j.train.lora.LoraLayout;
import org.sd3j.train.lora.LoraSpec;
import org.sd3j.train.lora.LoraTargets;
import org.sd3j.train.optim.AdamWSettings;
import org.sd3j.train.optim.LearningRateSchedule;

/**
 * LoRA training end to end on a tiny real SD3 (golden encoders and VAE, a random depth-1 MMDiT): a precompute cache
 * of four captioned images, then the trainer.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LoraTrainerTest {
    private Path dir;
    private Path checkpoint;
    private CachedDataset data;

    @BeforeAll
    void prepare(@TempDir Path tmp) {
        dir = tmp;
        try (Sd3Model model = TinySd3.load(tmp.resolve("model"), true)) {
            checkpoint = model.path();
            Path images = tmp.resolve("images");
            String[] captions = {"a red fox", "a blue sky", "a green field", "a dark night"};
            for (int i = 0; i < captions.length; i++) {
                TestImages.withCaption(images, "img" + i + ".png", 64, 64, 10 + i, captions[i]);
            }
            ImageCaptionDataset scanned = ImageCaptionDataset.scan(images,
                    AspectBuckets.of(List.of(new BucketSize(64, 64))));
            EncodingModel frozen = EncodingModel.of(model);
            PrecomputeCache cache = PrecomputeCache.build(scanned, frozen, tmp.resolve("cache"));
            data = CachedDataset.open(cache, ModelFingerprint.of(frozen),
                    CachedDataset.Options.builder().batchSize(2).seed(1).build());
        }
    }

    @AfterAll
    void done() {
        // the model closed in prepare(); the cache and data need no closing
    }

    private LoraTrainingSettings.Builder settings(long steps, String run) {
        return LoraTrainingSettings.builder(steps, dir.resolve(run))
                .targets(LoraTargets.allLinear())
                .lora(new LoraSpec(8, 8, LoraInit.GAUSSIAN, 3))
                .optimizer(AdamWSettings.defaults().withLearningRate(2e-3))
                .schedule(LearningRateSchedule.warmupConstant(2e-3, 10))
                .seed(5);
    }

    private static double mean(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    }

    @Test
    void theLossFallsWithinAFewHundredStepsAndTheAdaptersExportInBothLayouts() {
        List<Double> losses;
        try (LoraTrainer trainer = LoraTrainer.create(checkpoint, OnnxOptions.cpu(), settings(300, "falls")
                .checkpointEvery(1000).build())) {
            losses = trainer.train(data, TrainingListener.NONE);
            for (LoraLayout layout : LoraLayout.values()) {
                Path file = dir.resolve("falls-" + layout + ".safetensors");
                LoraFiles.write(file, trainer.lora(), layout, java.util.Map.of("sd3j.steps", "300"));
                LoraFile read = LoraFiles.read(file);
                for (String key : trainer.lora().keys()) {
                    Tensor a = trainer.lora().adapter(key).delta();
                    assertThat(read.weights().adapter(key).delta().maxAbsDiff(a)).as(layout + " " + key)
                            .isLessThan(1e-6);
                }
            }
        }
        double first = mean(losses.subList(0, 30));
        double last = mean(losses.subList(270, 300));
        org.slf4j.LoggerFactory.getLogger(LoraTrainerTest.class).info(
                "Mean loss over steps 1-30: {}, over steps 271-300: {}", first, last);
        // Fixed seed: observed 5.43 -> 4.51 (0.83). On this random tiny model that is the adapters learning to cancel
        // the network's random output (a zero velocity scores 4.52 here); 0.9 leaves room for platform rounding.
        assertThat(last).isLessThan(0.9 * first);
    }

    /**
     * What the trainer writes applies at inference with its training effect, whatever the layout: merged at load, the
     * four layouts give bit-identical velocities; they match a checkpoint with {@code W + (alpha/r) B A} written in
     * by {@link org.sd3j.train.lora.LoraAdapter#delta()} and the switchable view within 1e-5 of the largest
     * velocity (float rounding of the merged weights and of the two ways of computing).
     */
    @Test
    void aTrainedLoraAppliesAtInferenceWithTheSameEffectInEveryLayout() {
        Path reference = dir.resolve("merged-by-hand.safetensors");
        java.util.Map<LoraLayout, Path> files = new java.util.EnumMap<>(LoraLayout.class);
        try (LoraTrainer trainer = LoraTrainer.create(checkpoint, OnnxOptions.cpu(), settings(20, "infer")
                .checkpointEvery(1000).build())) {
            trainer.train(data, TrainingListener.NONE);
            for (LoraLayout layout : LoraLayout.values()) {
                files.put(layout, dir.resolve("infer-" + layout + ".safetensors"));
                LoraFiles.write(files.get(layout), trainer.lora(), layout, java.util.Map.of());
            }
            org.sd3j.onnx.safetensors.SafetensorsWriter w = org.sd3j.onnx.safetensors.SafetensorsWriter.create();
            try (TensorSource s = Safetensors.open(checkpoint)) {
                for (String name : s.names()) {
                    Tensor t = s.toFloatTensor(name);
                    String key = name.startsWith("model.diffusion_model.") && name.endsWith(".weight")
                            ? name.substring("model.diffusion_model.".length(), name.length() - ".weight".length())
                            : null;
                    if (key != null && trainer.lora().keys().contains(key)) {
                        Tensor d = trainer.lora().adapter(key).delta();
                        t = t.reshape(d.shape()).addScaled(d, 1f);
                    }
                    w.add(name, t);
                }
            }
            w.write(reference);
        }
        Tensor x = Tensor.full(0.4f, 1, 16, 8, 8);
        Tensor t = Tensor.full(600f, 1);
        Conditioning c = new Conditioning(Tensor.full(0.05f, 1, 7, 192), Tensor.full(-0.1f, 1, 160));
        Tensor expected;
        Tensor plain;
        try (MmditDenoiser byHand = MmditDenoiser.load(reference, OnnxOptions.cpu());
             MmditDenoiser base = MmditDenoiser.load(checkpoint, OnnxOptions.cpu())) {
            expected = byHand.velocity(x, t, c);
            plain = base.velocity(x, t, c);
            Tensor switchable = base.withLoras(List.of(new org.sd3j.lora.LoraRequest(files.get(LoraLayout.KOHYA), 1)))
                    .component().velocity(x, t, c);
            assertThat(switchable.maxAbsDiff(expected)).isLessThan(1e-5 * maxAbs(expected));
        }
        assertThat(expected.maxAbsDiff(plain)).isGreaterThan(1e-3 * maxAbs(plain));
        Tensor first = null;
        for (LoraLayout layout : LoraLayout.values()) {
            try (MmditDenoiser merged = MmditDenoiser.load(checkpoint, OnnxOptions.cpu(),
                    org.sd3j.onnx.mmdit.MmditGraph.Attention.FUSED,
                    List.of(new org.sd3j.lora.LoraRequest(files.get(layout), 1)))) {
                Tensor v = merged.velocity(x, t, c);
                assertThat(v.maxAbsDiff(expected)).as("%s", layout).isLessThan(1e-5 * maxAbs(expected));
                if (first != null) {
                    assertThat(v.toArray()).as("%s", layout).containsExactly(first.toArray());
                }
                first = v;
            }
        }
    }

    private static double maxAbs(Tensor t) {
        double m = 0;
        for (int i = 0; i < t.size(); i++) {
            m = Math.max(m, Math.abs(t.get(i)));
        }
        return m;
    }

    @Test
    void aResumedRunContinuesWithExactlyTheLossesOfAnUninterruptedOne() {
        List<Double> straight;
        try (LoraTrainer t = LoraTrainer.create(checkpoint, OnnxOptions.cpu(),
                settings(6, "straight").checkpointEvery(3).emaDecay(0.9).build())) {
            straight = t.train(data, TrainingListener.NONE);
        }
        try (LoraTrainer t = LoraTrainer.create(checkpoint, OnnxOptions.cpu(),
                settings(3, "resumed").checkpointEvery(3).emaDecay(0.9).build())) {
            assertThat(t.train(data, TrainingListener.NONE)).containsExactlyElementsOf(straight.subList(0, 3));
        }
        assertThat(TrainingCheckpoint.load(dir.resolve("resumed").resolve(LoraTrainer.CHECKPOINT_FILE)).step())
                .isEqualTo(3);
        try (LoraTrainer t = LoraTrainer.create(checkpoint, OnnxOptions.cpu(),
                settings(6, "resumed").checkpointEvery(3).emaDecay(0.9).build())) {
            assertThat(t.train(data, TrainingListener.NONE)).containsExactlyElementsOf(straight.subList(3, 6));
        }
    }

    @Test
    void aStopRequestEndsTheRunWithACheckpointOfThatStepAndTheNextRunResumesThere() {
        List<Double> straight;
        try (LoraTrainer t = LoraTrainer.create(checkpoint, OnnxOptions.cpu(),
                settings(5, "unstopped").checkpointEvery(100).build())) {
            straight = t.train(data, TrainingListener.NONE);
        }
        TrainingListener stopAtStep3 = new TrainingListener() {
            private long step;

            @Override
            public void onStep(TrainingProgress progress) {
                step = progress.step();
            }

            @Override
            public boolean stopRequested() {
                return step >= 3;
            }
        };
        try (LoraTrainer t = LoraTrainer.create(checkpoint, OnnxOptions.cpu(),
                settings(5, "stopped").checkpointEvery(100).build())) {
            assertThat(t.train(data, stopAtStep3)).containsExactlyElementsOf(straight.subList(0, 3));
        }
        assertThat(TrainingCheckpoint.load(dir.resolve("stopped").resolve(LoraTrainer.CHECKPOINT_FILE)).step())
                .as("checkpointed at the stop, not at checkpointEvery").isEqualTo(3);
        try (LoraTrainer t = LoraTrainer.create(checkpoint, OnnxOptions.cpu(),
                settings(5, "stopped").checkpointEvery(100).build())) {
            assertThat(t.train(data, TrainingListener.NONE)).containsExactlyElementsOf(straight.subList(3, 5));
        }
    }

    @Test
    void checkRefusesADiffusersLayoutCheckpointAndTargetsThatSelectNothingFromHeaders() throws Exception {
        Path diffusers = dir.resolve("diffusion_pytorch_model.safetensors");
        org.sd3j.onnx.safetensors.SafetensorsWriter.create()
                .add("pos_embed.proj.weight", Tensor.zeros(4, 16, 2, 2))
                .add("transformer_blocks.0.attn.to_q.weight", Tensor.zeros(4, 4))
                .write(diffusers);

        assertThatThrownBy(() -> LoraTrainer.check(diffusers, settings(1, "check").build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("checkpoint must use SD3's original key layout for LoRA training, found diffusers "
                        + "transformer layout in " + diffusers);
        assertThatThrownBy(() -> LoraTrainer.check(checkpoint, settings(1, "check")
                .targets(LoraTargets.glob(LoraTargets.NameStyle.ORIGINAL, "no_such_module.*")).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("targets must select at least one Linear module, found none");
        LoraTrainer.check(checkpoint, settings(1, "check").build());
    }

    @Test
    void aNonFiniteLossStopsTheRunAndKeepsTheLastGoodCheckpoint() {
        Path run = dir.resolve("diverges");
        try (LoraTrainer t = LoraTrainer.create(checkpoint, OnnxOptions.cpu(), settings(50, "diverges")
                .optimizer(AdamWSettings.defaults().withLearningRate(2e-3))
                .schedule(LearningRateSchedule.constant(1e30)).checkpointEvery(1).build())) {
            assertThatThrownBy(() -> t.train(data, TrainingListener.NONE))
                    .isInstanceOf(TrainingDivergedException.class)
                    .hasMessageContaining("Training diverged at step")
                    .hasMessageContaining(run.resolve(LoraTrainer.CHECKPOINT_FILE).toString());
        }
        TrainingCheckpoint kept = TrainingCheckpoint.load(run.resolve(LoraTrainer.CHECKPOINT_FILE));
        assertThat(kept.step()).isBetween(1L, 49L);
        assertThat(kept.parameters().values()).allSatisfy(p -> assertThat(p.allFinite()).isTrue());
    }

    @Test
    void fullParameterTrainingLearnsAndWritesALoadableCheckpoint() throws Exception {
        TrainingSettings settings = TrainingSettings.builder(300, dir.resolve("full"))
                .optimizer(AdamWSettings.defaults().withLearningRate(1e-3))
                .schedule(LearningRateSchedule.warmupConstant(1e-3, 10)).checkpointEvery(1000).seed(5).build();
        List<Double> losses;
        Path out = dir.resolve("full.safetensors");
        try (FullParameterTrainer trainer = FullParameterTrainer.create(checkpoint, OnnxOptions.cpu(), settings)) {
            losses = trainer.train(data, TrainingListener.NONE);
            trainer.writeCheckpoint(out, java.util.Map.of("sd3j.steps", "300"));
        }
        double first = mean(losses.subList(0, 30));
        double last = mean(losses.subList(270, 300));
        org.slf4j.LoggerFactory.getLogger(LoraTrainerTest.class).info(
                "Full-parameter mean loss over steps 1-30: {}, over steps 271-300: {}", first, last);
        // Observed 5.18 -> 4.46 (0.86).
        assertThat(last).isLessThan(0.9 * first);

        // The written checkpoint loads as a model of its own: same shapes, other velocities than the original.
        try (MmditDenoiser trained = MmditDenoiser.load(out, OnnxOptions.cpu());
             MmditDenoiser original = MmditDenoiser.load(checkpoint, OnnxOptions.cpu())) {
            assertThat(trained.config()).isEqualTo(original.config());
            Tensor latents = Tensor.full(0.5f, 1, 16, 8, 8);
            Tensor t = Tensor.of(new float[] {500}, 1);
            Conditioning c = new Conditioning(Tensor.full(0.1f, 1, 5, original.config().contextDim()),
                    Tensor.full(0.1f, 1, original.config().pooledDim()));
            assertThat(trained.velocity(latents, t, c).maxAbsDiff(original.velocity(latents, t, c))).isPositive();
        }
        try (TensorSource written = Safetensors.open(out); TensorSource source = Safetensors.open(checkpoint)) {
            assertThat(written.names()).isEqualTo(source.names()); // encoders and VAE carried over
            // The pre-only last block's context q is not in the graph: its rows are the source's, k and v trained.
            String qkv = source.names().stream().filter(n -> n.endsWith("context_block.attn.qkv.weight"))
                    .max(java.util.Comparator.comparingInt(LoraTrainerTest::blockIndex)).orElseThrow();
            float[] before = source.toFloatTensor(qkv).toArray();
            float[] after = written.toFloatTensor(qkv).toArray();
            int rows = before.length / 3;
            assertThat(java.util.Arrays.copyOfRange(after, 0, rows))
                    .containsExactly(java.util.Arrays.copyOfRange(before, 0, rows));
            assertThat(java.util.Arrays.copyOfRange(after, rows, before.length))
                    .isNotEqualTo(java.util.Arrays.copyOfRange(before, rows, before.length));
        }
    }

    private static int blockIndex(String key) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("joint_blocks\\.(\\d+)\\.").matcher(key);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }
}
