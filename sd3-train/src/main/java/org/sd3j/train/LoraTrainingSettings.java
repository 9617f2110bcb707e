package org.sd3j.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.sd3j.internal.Checks;
import org.sd3j.train.lora.LoraSpec;
import org.sd3j.train.lora.LoraTargets;
import org.sd3j.train.optim.AdamWSettings;
import org.sd3j.train.optim.GradientClipping;
import org.sd3j.train.optim.LearningRateSchedule;
import org.sd3j.train.step.RectifiedFlowStep;
import org.sd3j.train.step.TimestepSampler;

/**
 * Everything a {@link LoraTrainer} run needs: which Linears get adapters and how ({@code targets}, {@code lora}),
 * and the run's {@link TrainingSettings}, whose parts the accessors below pass through. Immutable. Defaults follow
 * SPEC §7: diffusers' attention targets at rank 4 / alpha 4, AdamW (1e-4, 0.9, 0.999, 1e-8, weight decay 1e-4)
 * with 500 warm-up steps, clipping at 1.0, logit-normal(0, 1) timesteps shifted by 3, the velocity MSE loss, no EMA.
 */
public record LoraTrainingSettings(LoraTargets targets, LoraSpec lora, TrainingSettings training) {
    public LoraTrainingSettings {
        Checks.notNull(targets, "targets");
        Checks.notNull(lora, "lora");
        Checks.notNull(training, "training");
    }

    /** Settings for {@code steps} steps checkpointed in {@code checkpointDir}, everything else the defaults. */
    public static Builder builder(long steps, Path checkpointDir) {
        return new Builder(steps, checkpointDir);
    }

    public AdamWSettings optimizer() {
        return training.optimizer();
    }

    public LearningRateSchedule schedule() {
        return training.schedule();
    }

    public GradientClipping clipping() {
        return training.clipping();
    }

    public int accumulation() {
        return training.accumulation();
    }

    public long steps() {
        return training.steps();
    }

    public TimestepSampler timesteps() {
        return training.timesteps();
    }

    public RectifiedFlowStep.Loss loss() {
        return training.loss();
    }

    public long seed() {
        return training.seed();
    }

    public Path checkpointDir() {
        return training.checkpointDir();
    }

    public long checkpointEvery() {
        return training.checkpointEvery();
    }

    public double emaDecay() {
        return training.emaDecay();
    }

    /** The run's configuration as JSON, stored in checkpoints and LoRA provenance. */
    public String toJson() {
        return TrainingSettings.json(toMap());
    }

    Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("targets", targets.toString());
        m.put("rank", lora.rank());
        m.put("alpha", lora.alpha());
        m.put("init", lora.init().name());
        m.put("lora_seed", lora.seed());
        m.putAll(training.toMap());
        return m;
    }

    /** Builds {@link LoraTrainingSettings}: the LoRA choices here, the rest through {@link TrainingSettings.Builder}. */
    public static final class Builder {
        private LoraTargets targets = LoraTargets.diffusersDefault();
        private LoraSpec lora = LoraSpec.diffusersDefault(0);
        private final TrainingSettings.Builder training;

        private Builder(long steps, Path checkpointDir) {
            this.training = TrainingSettings.builder(steps, checkpointDir);
        }

        public Builder targets(LoraTargets targets) {
            this.targets = targets;
            return this;
        }

        public Builder lora(LoraSpec lora) {
            this.lora = lora;
            return this;
        }

        public Builder optimizer(AdamWSettings optimizer) {
            training.optimizer(optimizer);
            return this;
        }

        /** The schedule (default: warm-up over min(500, steps / 10) steps to the optimizer's rate, then constant). */
        public Builder schedule(LearningRateSchedule schedule) {
            training.schedule(schedule);
            return this;
        }

        public Builder clipping(GradientClipping clipping) {
            training.clipping(clipping);
            return this;
        }

        public Builder accumulation(int microBatches) {
            training.accumulation(microBatches);
            return this;
        }

        public Builder timesteps(TimestepSampler timesteps) {
            training.timesteps(timesteps);
            return this;
        }

        public Builder loss(RectifiedFlowStep.Loss loss) {
            training.loss(loss);
            return this;
        }

        public Builder seed(long seed) {
            training.seed(seed);
            return this;
        }

        public Builder checkpointEvery(long steps) {
            training.checkpointEvery(steps);
            return this;
        }

        public Builder emaDecay(double decay) {
            training.emaDecay(decay);
            return this;
        }

        public LoraTrainingSettings build() {
            return new LoraTrainingSettings(targets, lora, training.build());
        }
    }
}
