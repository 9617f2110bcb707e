package org.sd3j.train;

/**
 * The loss of one {@link AutoencoderTrainer} step and its two terms, each the mean over the step's micro-batches.
 *
 * @param loss           {@code reconstruction + klWeight * kl}, what the optimizer minimized
 * @param reconstruction the reconstruction term (mean squared or absolute error in [-1, 1] pixel units)
 * @param kl             the unweighted mean KL term
 */
public record AutoencoderStepLoss(double loss, double reconstruction, double kl) {
}
