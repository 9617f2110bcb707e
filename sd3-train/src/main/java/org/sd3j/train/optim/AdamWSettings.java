package org.sd3j.train.optim;

/**
 * Hyper-parameters of {@link AdamW}, immutable. {@link #defaults()} are SPEC §7's LoRA defaults (those of
 * diffusers' SD3 LoRA script): learning rate 1e-4, betas (0.9, 0.999), eps 1e-8, weight decay 1e-4. Note that
 * torch's own {@code AdamW} defaults to lr 1e-3 and weight decay 1e-2.
 *
 * @param learningRate the step size used by {@link AdamW#step(java.util.Map)}, finite and {@code >= 0}; a
 *                     {@link LearningRateSchedule} overrides it per step through
 *                     {@link AdamW#step(java.util.Map, double)}
 * @param beta1        decay of the first-moment average, in {@code [0, 1)}
 * @param beta2        decay of the second-moment average, in {@code [0, 1)}
 * @param epsilon      added to the denominator, finite and {@code >= 0}
 * @param weightDecay  decoupled weight decay, finite and {@code >= 0}
 */
public record AdamWSettings(double learningRate, double beta1, double beta2, double epsilon, double weightDecay) {
    /** SPEC §7 default learning rate. */
    public static final double DEFAULT_LEARNING_RATE = 1e-4;
    /** SPEC §7 default beta1. */
    public static final double DEFAULT_BETA1 = 0.9;
    /** SPEC §7 default beta2. */
    public static final double DEFAULT_BETA2 = 0.999;
    /** SPEC §7 default epsilon. */
    public static final double DEFAULT_EPSILON = 1e-8;
    /** SPEC §7 default weight decay. */
    public static final double DEFAULT_WEIGHT_DECAY = 1e-4;

    /** @throws IllegalArgumentException for a value outside its documented range */
    public AdamWSettings {
        requireLearningRate(learningRate, "learningRate");
        requireBeta(beta1, "beta1");
        requireBeta(beta2, "beta2");
        if (!Double.isFinite(epsilon) || epsilon < 0) {
            throw new IllegalArgumentException("epsilon must be finite and >= 0, found " + epsilon);
        }
        if (!Double.isFinite(weightDecay) || weightDecay < 0) {
            throw new IllegalArgumentException("weightDecay must be finite and >= 0, found " + weightDecay);
        }
    }

    /** lr 1e-4, betas (0.9, 0.999), eps 1e-8, weight decay 1e-4. */
    public static AdamWSettings defaults() {
        return new AdamWSettings(DEFAULT_LEARNING_RATE, DEFAULT_BETA1, DEFAULT_BETA2, DEFAULT_EPSILON,
                DEFAULT_WEIGHT_DECAY);
    }

    public AdamWSettings withLearningRate(double value) {
        return new AdamWSettings(value, beta1, beta2, epsilon, weightDecay);
    }

    public AdamWSettings withBetas(double b1, double b2) {
        return new AdamWSettings(learningRate, b1, b2, epsilon, weightDecay);
    }

    public AdamWSettings withEpsilon(double value) {
        return new AdamWSettings(learningRate, beta1, beta2, value, weightDecay);
    }

    public AdamWSettings withWeightDecay(double value) {
        return new AdamWSettings(learningRate, beta1, beta2, epsilon, value);
    }

    static double requireLearningRate(double value, String name) {
        if (!Double.isFinite(value) || value < 0) {
            throw new IllegalArgumentException(name + " must be finite and >= 0, found " + value);
        }
        return value;
    }

    private static void requireBeta(double value, String name) {
        if (!(value >= 0 && value < 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1), found " + value);
        }
    }
}
