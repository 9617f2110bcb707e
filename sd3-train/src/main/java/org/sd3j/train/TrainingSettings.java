package org.sd3j.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.sd3j.internal.Checks;
import org.sd3j.train.optim.AdamWSettings;
import org.sd3j.train.optim.GradientClipping;
import org.sd3j.train.optim.LearningRateSchedule;
import org.sd3j.train.step.RectifiedFlowStep;
import org.sd3j.train.step.TimestepSampler;

/**
 * What every rectified-flow training run is configured with, whatever it trains: a {@link FullParameterTrainer}
 * run takes it as it is, a {@link LoraTrainer} run inside {@link LoraTrainingSettings}. Immutable. Defaults follow SPEC §7: AdamW (1e-4, 0.9, 0.999, 1e-8, weight decay 1e-4) with warm-up,
 * clipping at 1.0, logit-normal(0, 1) timesteps shifted by 3, the velocity MSE loss, no EMA.
 *
 * @param steps           optimizer steps in the run
 * @param checkpointDir   where the run's checkpoint lives (resumed from when present)
 * @param checkpointEvery steps between checkpoints (one is also written at the end)
 * @param accumulation    micro-batches per optimizer step
 * @param emaDecay        EMA decay of the weights; 0 keeps no EMA
 */
public record TrainingSettings(AdamWSettings optimizer,
                               LearningRateSchedule schedule, GradientClipping clipping, int accumulation,
                               long steps, TimestepSampler timesteps, RectifiedFlowStep.Loss loss, long seed,
                               Path checkpointDir, long checkpointEvery, double emaDecay) {
    public TrainingSettings {
        Checks.notNull(optimizer, "optimizer");
        Checks.notNull(schedule, "schedule");
        Checks.notNull(clipping, "clipping");
        Checks.atLeast(accumulation, 1, "accumulation");
        if (steps < 1) {
            throw Checks.fail("steps", ">= 1", steps);
        }
        Checks.notNull(timesteps, "timesteps");
        Checks.notNull(loss, "loss");
        Checks.notNull(checkpointDir, "checkpointDir");
        if (checkpointEvery < 1) {
            throw Checks.fail("checkpointEvery", ">= 1", checkpointEvery);
        }
        if (!(emaDecay >= 0 && emaDecay < 1)) {
            throw Checks.fail("emaDecay", "in [0, 1)", emaDecay);
        }
    }

    /** Settings for {@code steps} steps checkpointed in {@code checkpointDir}, everything else the defaults. */
    public static Builder builder(long steps, Path checkpointDir) {
        return new Builder(steps, checkpointDir);
    }

    /** The run's configuration as JSON, stored in checkpoints and provenance. */
    public String toJson() {
        return json(toMap());
    }

    /** The loop's part, with {@code configJson} as the run's configuration. */
    TrainingLoop.Settings loopSettings(String configJson) {
        return new TrainingLoop.Settings(optimizer, schedule, clipping, accumulation, steps, seed, checkpointDir,
                checkpointEvery, emaDecay, configJson);
    }

    /** The configuration, in {@link #toJson()}'s order. */
    Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("learning_rate", optimizer.learningRate());
        m.put("betas", new double[] {optimizer.beta1(), optimizer.beta2()});
        m.put("adam_epsilon", optimizer.epsilon());
        m.put("weight_decay", optimizer.weightDecay());
        m.put("schedule", schedule.toString());
        m.put("max_grad_norm", clipping.maxNorm());
        m.put("accumulation", accumulation);
        m.put("steps", steps);
        m.put("timesteps", timesteps.toString());
        m.put("loss", loss.name());
        m.put("seed", seed);
        m.put("ema_decay", emaDecay);
        return m;
    }

    static String json(Map<String, Object> m) {
        try {
            return new ObjectMapper().writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("settings must serialize to JSON", e);
        }
    }

    /** Builds {@link TrainingSettings}; not thread-safe. */
    public static final class Builder {
        private AdamWSettings optimizer = AdamWSettings.defaults();
        private LearningRateSchedule schedule;
        private GradientClipping clipping = GradientClipping.defaults();
        private int accumulation = 1;
        private final long steps;
        private TimestepSampler timesteps = TimestepSampler.sd3Default();
        private RectifiedFlowStep.Loss loss = RectifiedFlowStep.Loss.VELOCITY_MSE;
        private long seed;
        private final Path checkpointDir;
        private long checkpointEvery = 500;
        private double emaDecay;

        private Builder(long steps, Path checkpointDir) {
            this.steps = steps;
            this.checkpointDir = checkpointDir;
        }

        public Builder optimizer(AdamWSettings optimizer) {
            this.optimizer = optimizer;
            return this;
        }

        /** The schedule (default: warm-up over min(500, steps / 10) steps to the optimizer's rate, then constant). */
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

        public Builder timesteps(TimestepSampler timesteps) {
            this.timesteps = timesteps;
            return this;
        }

        public Builder loss(RectifiedFlowStep.Loss loss) {
            this.loss = loss;
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

        public TrainingSettings build() {
            LearningRateSchedule s = schedule != null ? schedule
                    : LearningRateSchedule.warmupConstant(optimizer.learningRate(), Math.min(500, steps / 10));
            return new TrainingSettings(optimizer, s, clipping, accumulation, steps, timesteps,
                    loss, seed, checkpointDir, checkpointEvery, emaDecay);
        }
    }
}
