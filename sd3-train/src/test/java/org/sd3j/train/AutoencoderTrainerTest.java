package org.sd3j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.image.Image;
import org.sd3j.model.LatentDistribution;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.onnx.vae.OnnxVae;
import org.sd3j.onnx.vae.VaeConfig;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.checkpoint.TrainingCheckpoint;
import org.sd3j.train.optim.AdamWSettings;
import org.sd3j.train.optim.LearningRateSchedule;
import org.sd3j.train.step.AutoencoderStep;
import org.sd3j.train.vae.LatentScaling;
import org.sd3j.train.vae.ReconstructionMetrics;
import org.sd3j.train.vae.ShapeImages;
import org.sd3j.train.vae.VaeFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Autoencoder training end to end on synthetic shape images with tiny autoencoders (32 channels per level): the
 * reconstruction improves, runs resume exactly, and the written file loads and decodes through {@link OnnxVae}.
 */
class AutoencoderTrainerTest {
    private static final Logger LOG = LoggerFactory.getLogger(AutoencoderTrainerTest.class);
    /** Downscale 4, z = 8: 32x32 images to 8x8x8 latents. */
    private static final VaeConfig TINY = new VaeConfig(new int[] {32, 32, 32}, 1, 8, 3, true, true, 1, 0, 8);
    /** Downscale 2, z = 4: the smallest that has every part (16x16 images). */
    private static final VaeConfig SMALLEST = new VaeConfig(new int[] {32, 32}, 1, 4, 3, true, true, 1, 0, 8);
    private static final int STEPS = 150;

    @TempDir
    Path dir;

    private static double mean(List<AutoencoderStepLoss> losses, int from, int to) {
        return losses.subList(from, to).stream().mapToDouble(AutoencoderStepLoss::reconstruction).average()
                .orElseThrow();
    }

    @Test
    void theReconstructionImprovesWithinAFewHundredSteps() {
        List<Image> train = ShapeImages.draw(1, 0, 64, 32, false);
        List<Image> heldOut = ShapeImages.draw(2, 0, 8, 32, false);
        AutoencoderTrainingSettings settings = AutoencoderTrainingSettings.builder(STEPS, dir.resolve("falls"))
                .imageSize(32, 32).batchSize(4).seed(3).checkpointEvery(1000)
                .optimizer(new AdamWSettings(2e-3, 0.9, 0.999, 1e-8, 0)).build();
        try (AutoencoderTrainer t = AutoencoderTrainer.fromScratch(TINY, OnnxOptions.cpu(), settings)) {
            ReconstructionMetrics before = t.evaluate(heldOut);
            List<AutoencoderStepLoss> losses = t.train(train, TrainingListener.NONE);
            ReconstructionMetrics after = t.evaluate(heldOut);
            double first = mean(losses, 0, 10);
            double last = mean(losses, STEPS - 10, STEPS);
            LOG.info("Reconstruction loss over the first 10 steps: {}, over the last 10: {}; held-out before {},"
                    + " after {}", first, last, before, after);
            // Fixed seed: observed 0.405 -> 0.167 (0.41) and 9.0 -> 13.2 dB; the margins leave room for other CPUs'
            // rounding, which a training run amplifies.
            assertThat(last).isLessThan(0.6 * first);
            assertThat(after.psnr()).isGreaterThan(before.psnr() + 2);
        }
    }

    private AutoencoderTrainingSettings.Builder small(long steps, String run) {
        return AutoencoderTrainingSettings.builder(steps, dir.resolve(run)).imageSize(16, 16).batchSize(2)
                .accumulation(2).emaDecay(0.9).checkpointEvery(2).seed(4)
                .schedule(LearningRateSchedule.warmupConstant(1e-3, 1));
    }

    @Test
    void aResumedRunContinuesWithExactlyTheLossesOfAnUninterruptedOne() {
        List<Image> images = ShapeImages.draw(1, 0, 5, 16, false); // 5: batches cross epoch boundaries
        List<AutoencoderStepLoss> straight;
        Map<String, Tensor> straightWeights = new java.util.LinkedHashMap<>();
        try (AutoencoderTrainer t = AutoencoderTrainer.fromScratch(SMALLEST, OnnxOptions.cpu(),
                small(4, "straight").build())) {
            straight = t.train(images, TrainingListener.NONE);
            t.weights().forEach((k, v) -> straightWeights.put(k, v.copy()));
        }
        try (AutoencoderTrainer t = AutoencoderTrainer.fromScratch(SMALLEST, OnnxOptions.cpu(),
                small(2, "resumed").build())) {
            assertThat(t.train(images, TrainingListener.NONE)).containsExactlyElementsOf(straight.subList(0, 2));
        }
        assertThat(TrainingCheckpoint.load(dir.resolve("resumed").resolve(AutoencoderTrainer.CHECKPOINT_FILE)).step())
                .isEqualTo(2);
        try (AutoencoderTrainer t = AutoencoderTrainer.fromScratch(SMALLEST, OnnxOptions.cpu(),
                small(4, "resumed").build())) {
            assertThat(t.train(images, TrainingListener.NONE)).containsExactlyElementsOf(straight.subList(2, 4));
            straightWeights.forEach((k, v) -> assertThat(t.weights().get(k).maxAbsDiff(v)).as(k).isZero());
        }
    }

    @Test
    void anEmaAddedOnResumeStartsAtTheResumedWeightsNotAtTheInitialOnes() {
        List<Image> images = ShapeImages.draw(1, 0, 4, 16, false);
        Map<String, Tensor> trained = new java.util.LinkedHashMap<>();
        try (AutoencoderTrainer t = AutoencoderTrainer.fromScratch(SMALLEST, OnnxOptions.cpu(),
                small(2, "no-ema").emaDecay(0).build())) {
            t.train(images, TrainingListener.NONE);
            t.parameters().forEach((k, v) -> trained.put(k, v.copy()));
        }
        try (AutoencoderTrainer t = AutoencoderTrainer.fromScratch(SMALLEST, OnnxOptions.cpu(),
                small(2, "no-ema").emaDecay(0.999).build())) {
            assertThat(t.train(images, TrainingListener.NONE)).isEmpty(); // step 2 of 2: only the restore
            trained.forEach((k, v) -> assertThat(t.weights().get(k).maxAbsDiff(v)).as(k).isZero());
        }
    }

    @Test
    void theWrittenFileLoadsThroughOnnxVaeWithItsScalingAndGroupsAndDecodesAsTheTrainer() {
        List<Image> images = ShapeImages.draw(1, 0, 4, 16, false);
        Path file = dir.resolve("vae.safetensors");
        Tensor batch = Tensor.concat(0, images.get(0).toTensor(), images.get(1).toTensor());
        LatentScaling scaling;
        LatentDistribution trained;
        Tensor decoded;
        Map<String, Tensor> weights = new java.util.LinkedHashMap<>();
        try (AutoencoderTrainer t = AutoencoderTrainer.fromScratch(SMALLEST, OnnxOptions.cpu(),
                small(2, "written").build())) {
            t.train(images, TrainingListener.NONE);
            scaling = t.measureLatentScaling(images);
            t.writeWeights(file, scaling);
            trained = t.vae().encode(batch);
            decoded = t.vae().decode(trained.mean());
            t.weights().forEach((k, v) -> weights.put(k, v.copy()));
        }
        try (TensorSource source = Safetensors.open(file)) {
            assertThat(source.names()).hasSize(weights.size()).allMatch(n -> n.startsWith(VaeFiles.PREFIX));
            assertThat(source.metadata()).containsEntry(AutoencoderTrainer.STEPS_KEY, "2")
                    .containsEntry("norm_num_groups", "8").containsKey(AutoencoderTrainer.SETTINGS_KEY);
            assertThat(LatentScaling.fromMetadata(source.metadata())).isEqualTo(scaling);
        }
        try (OnnxVae vae = OnnxVae.load(file, OnnxOptions.cpu())) {
            assertThat(vae.config()).isEqualTo(scaling.applyTo(SMALLEST));
            LatentDistribution loaded = vae.encode(batch);
            assertThat(loaded.mean().maxAbsDiff(trained.mean())).isLessThan(1e-5);
            assertThat(loaded.logvar().maxAbsDiff(trained.logvar())).isLessThan(1e-5);
            assertThat(vae.decode(loaded.mean()).maxAbsDiff(decoded)).isLessThan(1e-5);
        }
        try (AutoencoderTrainer t = AutoencoderTrainer.fromWeights(file, OnnxOptions.cpu(),
                small(2, "continued").build())) {
            assertThat(t.config()).isEqualTo(scaling.applyTo(SMALLEST));
            weights.forEach((k, v) -> assertThat(t.parameters().get(k).maxAbsDiff(v)).as(k).isZero());
        }
    }

    @Test
    void decoderFineTuningLeavesTheEncoderBitIdenticalAndImprovesTheDecoder() {
        List<Image> train = ShapeImages.draw(1, 0, 32, 16, false);
        List<Image> heldOut = ShapeImages.draw(2, 0, 8, 16, false);
        Path base = dir.resolve("base.safetensors");
        LatentScaling scaling;
        try (AutoencoderTrainer t = AutoencoderTrainer.fromScratch(SMALLEST, OnnxOptions.cpu(),
                AutoencoderTrainingSettings.builder(150, dir.resolve("base")).imageSize(16, 16).batchSize(4).seed(3)
                        .optimizer(new AdamWSettings(2e-3, 0.9, 0.999, 1e-8, 0)).build())) {
            t.train(train, TrainingListener.NONE);
            scaling = t.measureLatentScaling(train);
            t.writeWeights(base, scaling);
        }
        Path tuned = dir.resolve("tuned.safetensors");
        Tensor batch = Tensor.concat(0, heldOut.get(0).toTensor(), heldOut.get(1).toTensor());
        ReconstructionMetrics before;
        ReconstructionMetrics after;
        try (AutoencoderTrainer t = AutoencoderTrainer.fromWeights(base, OnnxOptions.cpu(),
                AutoencoderTrainingSettings.builder(150, dir.resolve("tuned")).imageSize(16, 16).batchSize(4).seed(5)
                        .trained(AutoencoderStep.Trained.DECODER)
                        .optimizer(new AdamWSettings(2e-3, 0.9, 0.999, 1e-8, 0)).build())) {
            assertThat(t.parameters().keySet()).isNotEmpty()
                    .allMatch(n -> n.startsWith(AutoencoderStep.DECODER_PREFIX));
            before = t.evaluate(heldOut);
            t.train(train, TrainingListener.NONE);
            after = t.evaluate(heldOut);
            t.writeWeights(tuned, scaling);
        }
        LOG.info("Decoder fine-tuning: held-out {} -> {}", before, after);
        // Observed 13.58 -> 13.93 dB: the base's cosine decay has already fitted its decoder to this encoder, so
        // the gain is small; 0.15 dB leaves room for other CPUs' rounding yet fails if the decoder does not learn.
        assertThat(after.psnr()).isGreaterThan(before.psnr() + 0.15);
        try (TensorSource a = Safetensors.open(base); TensorSource b = Safetensors.open(tuned)) {
            assertThat(b.names()).containsExactlyInAnyOrderElementsOf(a.names());
            int changed = 0;
            for (String name : a.names()) {
                double diff = a.toFloatTensor(name).maxAbsDiff(b.toFloatTensor(name));
                if (name.startsWith(VaeFiles.PREFIX + "encoder.")) {
                    assertThat(diff).as(name).isZero();
                } else if (diff > 0) {
                    changed++;
                }
            }
            assertThat(changed).isGreaterThan(10);
        }
        try (OnnxVae a = OnnxVae.load(base, OnnxOptions.cpu()); OnnxVae b = OnnxVae.load(tuned, OnnxOptions.cpu())) {
            assertThat(b.encode(batch).mean().maxAbsDiff(a.encode(batch).mean())).isZero();
        }
    }

    @Test
    void decoderOnlyTrainingNeedsExistingWeights() {
        assertThatThrownBy(() -> AutoencoderTrainer.fromScratch(SMALLEST, OnnxOptions.cpu(),
                AutoencoderTrainingSettings.builder(1, dir).trained(AutoencoderStep.Trained.DECODER).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("settings.trained must be ALL for a new autoencoder");
    }

    @Test
    void imagesOfAnotherSizeAreCenterCroppedToTheTrainingSize() {
        List<Image> images = ShapeImages.draw(1, 0, 2, 24, false);
        try (AutoencoderTrainer t = AutoencoderTrainer.fromScratch(SMALLEST, OnnxOptions.cpu(),
                small(1, "cropped").build())) {
            assertThat(t.train(images, TrainingListener.NONE)).hasSize(1);
        }
    }

    @Test
    void settingsRefuseValuesOutsideTheirRange() {
        assertThatThrownBy(() -> AutoencoderTrainingSettings.builder(1, dir).batchSize(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("batchSize must be >= 1, found 0");
        assertThatThrownBy(() -> AutoencoderTrainingSettings.builder(1, dir).klWeight(Double.NaN).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("klWeight must be finite and >= 0, found NaN");
        assertThatThrownBy(() -> AutoencoderTrainingSettings.builder(0, dir).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("steps must be >= 1, found 0");
        assertThatThrownBy(() -> AutoencoderTrainer.fromScratch(SMALLEST, OnnxOptions.cpu(),
                AutoencoderTrainingSettings.builder(1, dir).imageSize(15, 16).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("width must be a positive multiple of 2, found 15");
    }
}
