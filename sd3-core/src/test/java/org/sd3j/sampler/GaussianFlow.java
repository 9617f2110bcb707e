package org.sd3j.sampler;

/**
 * The exact rectified-flow velocity for data N(mu, s^2) per element and noise N(0, 1): with
 * {@code x_t = (1-t) x0 + t eps}, {@code m(t) = (1-t) mu}, {@code sd(t) = sqrt((1-t)^2 s^2 + t^2)}, the field is
 * linear, {@code v(x, t) = -mu + sd'(t)/sd(t) (x - m(t))} with {@code sd'(t) = (t - (1-t) s^2) / sd(t)}, and the
 * ODE from {@code x(1) = x1} ends at {@code x(0) = mu + s x1}. All in float64.
 */
record GaussianFlow(double mu, double s) implements SamplerHarness.ScalarField {

    double mean(double t) {
        return (1 - t) * mu;
    }

    double variance(double t) {
        return (1 - t) * (1 - t) * s * s + t * t;
    }

    @Override
    public double v(double x, double t) {
        double var = variance(t);
        double sdDotOverSd = (t - (1 - t) * s * s) / var; // sd'/sd = (t - (1-t) s^2) / sd^2
        return -mu + sdDotOverSd * (x - mean(t));
    }

    /** The exact ODE end point from x(1) = x1. */
    double exactEnd(double x1) {
        return mu + s * x1;
    }

    /** E[x0 | x_t = x]: the denoised estimate x - t v. */
    double posteriorMean(double x, double t) {
        return mu + (1 - t) * s * s / variance(t) * (x - mean(t));
    }

    /** The posterior-mean slope (1-t) s^2 / sd(t)^2. */
    double posteriorSlope(double t) {
        return (1 - t) * s * s / variance(t);
    }
}
