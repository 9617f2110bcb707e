package org.sd3j.train;

import java.nio.file.Path;

import org.sd3j.train.optim.AdamWSettings;
import org.sd3j.train.optim.GradientClipping;
import org.sd3j.train.optim.LearningRateSchedule;
import org.sd3j.train.step.RectifiedFlowStep;
import org.sd3j.train.step.TimestepSampler;

/**
 * What every rectified-flow training run is configured with, whatever it trains (LoRA adapters or every weight):
 * {@link LoraTrainingSettings} and {@link FullTrainingSettings} implement it.
 */
public interface TrainingRun {
    AdamWSettings optimizer();

    LearningRateSchedule schedule();

    GradientClipping clipping();

    /** Micro-batches per optimizer step. */
    int accumulation();

    /** Optimizer steps in the run. */
    long steps();

    TimestepSampler timesteps();

    RectifiedFlowStep.Loss loss();

    long seed();

    /** Where the run's checkpoint lives (resumed from when present). */
    Path checkpointDir();

    long checkpointEvery();

    /** EMA decay of the trained tensors; 0 keeps no EMA. */
    double emaDecay();

    /** The configuration as JSON, for checkpoints and provenance. */
    String toJson();
}
