package org.sd3j.train;

import java.time.Duration;

/**
 * One optimizer step of a training run.
 *
 * @param step         steps completed, from 1
 * @param totalSteps   the run's length
 * @param loss         the step's loss (mean over its micro-batches)
 * @param learningRate the learning rate the update used
 * @param gradientNorm the global gradient norm before clipping
 * @param elapsed      wall time since the run (or its resumption) started
 */
public record TrainingProgress(long step, long totalSteps, double loss, double learningRate, double gradientNorm,
                               Duration elapsed) {
}
