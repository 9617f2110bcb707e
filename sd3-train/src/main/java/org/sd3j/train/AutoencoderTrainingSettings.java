package org.sd3j.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.sd3j.internal.Checks;
import org.sd3j.train.optim.AdamWSettings;
import org.sd3j.train.optim.GradientClipping;
import org.sd3j.train.optim.LearningRateSchedule;
import org.sd3j.train.step.AutoencoderStep;

/**
 * What an {@link AutoencoderTrainer} run is configured with. Immutable. Defaults (see {@link Builder}) suit a small
 * autoencoder trained from scratch on 64x64 images: batch 8, the MSE reconstruction loss, KL weight 1e-6, AdamW at
 * 1e-3 with betas (0.9, 0.999) and no weight decay, a linear warm-up then a cosine decay to a tenth of the peak,
 * clipping at 1.0, no EMA.
 *
 * @param width           training image width, a multiple of the autoencoder's downscale factor
 * @param height          training image height, likewise; images of another size are center-cropped and resized
 * @param batchSize       images per micro-batch
 * @param reconstruction  the reconstruction loss
 * @param klWeight        weight of the mean KL term ({@link AutoencoderStep})
 * @param steps           optimizer steps in the run
 * @param seed            seeds the initial weights, the image order and the sampling noise
 * @param checkpointDir   where the run's checkpoint lives (resumed from when present)
 * @param checkpointEvery steps between checkpoints (one is also written at the end)
 * @param accumulation    micro-batches per optimizer step
 * @param emaDecay        EMA decay of the weights; 0 keeps no EMA
 * @param trained         which weights are trained (the others stay as loaded)
 */
public record AutoencoderTrainingSettings(int width, int height, int batchSize,
                                          AutoencoderStep.Reconstruction reconstruction, double klWeight,
                                          AdamWSettings optimizer, LearningRateSchedule schedule,
                                          GradientClipping clipping, int accumulation, long steps, long seed,
                                          Path checkpointDir, long checkpointEvery, double emaDecay,
                                          AutoencoderStep.Trained trained) {
    /** Default peak learning rate: from-scratch autoencoders this small take a larger step than fine-tuning. */
    public static final double DEFAULT_LEARNING_RATE = 1e-3;
    /** Default KL weight (LDM's autoencoders use 1e-6). */
    public static final double DEFAULT_KL_WEIGHT = 1e-6;

    public AutoencoderTrainingSettings {
        Checks.atLeast(width, 1, "width");
        Checks.atLeast(height, 1, "height");
        Checks.atLeast(batchSize, 1, "batchSize");
        Checks.notNull(reconstruction, "reconstruction");
        if (!Double.isFinite(klWeight) || klWeight < 0) {
            throw Checks.fail("klWeight", "finite and >= 0", klWeight);
        }
        Checks.notNull(optimizer, "optimizer");
        Checks.notNull(schedule, "schedule");
        Checks.notNull(clipping, "clipping");
        Checks.atLeast(accumulation, 1, "accumulation");
        if (steps < 1) {
            throw Checks.fail("steps", ">= 1", steps);
        }
        Checks.notNull(checkpointDir, "checkpointDir");
        if (checkpointEvery < 1) {
            throw Checks.fail("checkpointEvery", ">= 1", checkpointEvery);
        }
        if (!(emaDecay >= 0 && emaDecay < 1)) {
            throw Checks.fail("emaDecay", "in [0, 1)", emaDecay);
        }
        Checks.notNull(trained, "trained");
    }

    /** Settings for {@code steps} steps checkpointed in {@code checkpointDir}, everything else the defaults. */
    public static Builder builder(long steps, Path checkpointDir) {
        return new Builder(steps, checkpointDir);
    }

    /** The run's configuration as JSON, stored in checkpoints and in the written weights' metadata. */
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("width", width);
        m.put("height", height);
        m.put("batch_size", batchSize);
        m.put("reconstruction", reconstruction.name());
        m.put("kl_weight", klWeight);
        m.put("learning_rate", optimizer.learningRate());
        m.put("betas", new double[] {optimizer.beta1(), optimizer.beta2()});
        m.put("adam_epsilon", optimizer.epsilon());
        m.put("weight_decay", optimizer.weightDecay());
        m.put("schedule", schedule.toString());
        m.put("max_grad_norm", clipping.maxNorm());
        m.put("accumulation", accumulation);
        m.put("steps", steps);
        m.put("seed", seed);
        m.put("ema_decay", emaDecay);
        m.put("trained", trained.name());
        return TrainingSettings.json(m);
    }

    TrainingLoop.Settings loopSettings() {
        return new TrainingLoop.Settings(optimizer, schedule, clipping, accumulation, steps, seed, checkpointDir,
                checkpointEvery, emaDecay, toJson());
    }

    /** Builds {@link AutoencoderTrainingSettings}; not thread-safe. */
    public static final class Builder {
        private int width = 64;
        private int height = 64;
        private int batchSize = 8;
        private AutoencoderStep.Reconstruction reconstruction = AutoencoderStep.Reconstruction.MSE;
        private double klWeight = DEFAULT_KL_WEIGHT;
        private AdamWSettings optimizer = new AdamWSettings(DEFAULT_LEARNING_RATE, AdamWSettings.DEFAULT_BETA1,
                AdamWSettings.DEFAULT_BETA2, AdamWSettings.DEFAULT_EPSILON, 0);
        private LearningRateSchedule schedule;
        private GradientClipping clipping = GradientClipping.defaults();
        private int accumulation = 1;
        private final long steps;
        private long seed;
        private final Path checkpointDir;
        private long checkpointEvery = 500;
        private double emaDecay;
        private AutoencoderStep.Trained trained = AutoencoderStep.Trained.ALL;

        private Builder(long steps, Path checkpointDir) {
            this.steps = steps;
            this.checkpointDir = checkpointDir;
        }

        /** The training size (default 64x64). */
        public Builder imageSize(int width, int height) {
            this.width = width;
            this.height = height;
            return this;
        }

        public Builder batchSize(int images) {
            this.batchSize = images;
            return this;
        }

        public Builder reconstruction(AutoencoderStep.Reconstruction loss) {
            this.reconstruction = loss;
            return this;
        }

        public Builder klWeight(double weight) {
            this.klWeight = weight;
            return this;
        }

        public Builder optimizer(AdamWSettings optimizer) {
            this.optimizer = optimizer;
            return this;
        }

        /**
         * The schedule (default: a linear warm-up over min(200, steps / 10) steps to the optimizer's rate, then a
         * cosine decay to a tenth of it at the last step).
         */
        public Builder schedule(LearningRateSchedule schedule) {
            this.schedule = schedule;
            return this;
        }

        public Builder clipping(GradientClipping clipping) {
            this.clipping = clipping;
            return this;
        }

        public Builder accumulation(int microBatches) {
            this.accumulation = microBatches;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder checkpointEvery(long steps) {
            this.checkpointEvery = steps;
            return this;
        }

        public Builder emaDecay(double decay) {
            this.emaDecay = decay;
            return this;
        }

        /**
         * Which weights to train (default {@link AutoencoderStep.Trained#ALL}); {@link
         * AutoencoderStep.Trained#DECODER} needs a trainer {@linkplain AutoencoderTrainer#fromWeights from weights}.
         */
        public Builder trained(AutoencoderStep.Trained weights) {
            this.trained = weights;
            return this;
        }

        public AutoencoderTrainingSettings build() {
            LearningRateSchedule s = schedule;
            if (s == null) {
                double peak = optimizer.learningRate();
                long warmup = Math.min(200, steps / 10);
                s = steps > warmup ? LearningRateSchedule.warmupCosine(peak, warmup, steps, peak / 10)
                        : LearningRateSchedule.constant(peak);
            }
            return new AutoencoderTrainingSettings(width, height, batchSize, reconstruction, klWeight, optimizer, s,
                    clipping, accumulation, steps, seed, checkpointDir, checkpointEvery, emaDecay, trained);
        }
    }
}
