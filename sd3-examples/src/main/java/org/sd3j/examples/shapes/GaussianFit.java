package org.sd3j.examples.shapes;

import java.util.List;

import org.sd3j.internal.Checks;

/**
 * The mean and covariance of a set of feature vectors: the Gaussian {@link FrechetDistance} compares. The covariance
 * is the unbiased one (divided by n - 1), as in the reference FID code ({@code numpy.cov}). Immutable: arrays are
 * copied in and out.
 */
public final class GaussianFit {
    private final double[] mean;
    private final double[][] covariance;

    /** A Gaussian given directly: {@code covariance} must be square, symmetric and as wide as {@code mean}. */
    public GaussianFit(double[] mean, double[][] covariance) {
        Checks.notNull(mean, "mean");
        Checks.notNull(covariance, "covariance");
        int d = mean.length;
        Checks.atLeast(d, 1, "mean.length");
        if (covariance.length != d) {
            throw new IllegalArgumentException("covariance must be " + d + "x" + d + ", found " + covariance.length
                    + " rows");
        }
        this.mean = mean.clone();
        this.covariance = new double[d][];
        for (int i = 0; i < d; i++) {
            if (covariance[i].length != d) {
                throw new IllegalArgumentException("covariance must be " + d + "x" + d + ", found a row of "
                        + covariance[i].length);
            }
            this.covariance[i] = covariance[i].clone();
        }
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < i; j++) {
                double a = covariance[i][j];
                double b = covariance[j][i];
                if (Math.abs(a - b) > 1e-9 * Math.max(1, Math.max(Math.abs(a), Math.abs(b)))) {
                    throw new IllegalArgumentException("covariance must be symmetric, found [" + i + "][" + j + "] = "
                            + a + " and [" + j + "][" + i + "] = " + b);
                }
            }
        }
    }

    /** Fits {@code samples}: at least 2, all of one length. */
    public static GaussianFit of(List<double[]> samples) {
        Checks.notNull(samples, "samples");
        if (samples.size() < 2) {
            throw new IllegalArgumentException("samples.size must be >= 2, found " + samples.size());
        }
        int d = samples.get(0).length;
        double[] mean = new double[d];
        for (double[] s : samples) {
            if (s.length != d) {
                throw new IllegalArgumentException("samples must all have length " + d + ", found " + s.length);
            }
            for (int i = 0; i < d; i++) {
                mean[i] += s[i] / samples.size();
            }
        }
        double[][] cov = new double[d][d];
        for (double[] s : samples) {
            for (int i = 0; i < d; i++) {
                double di = s[i] - mean[i];
                for (int j = 0; j <= i; j++) {
                    cov[i][j] += di * (s[j] - mean[j]);
                }
            }
        }
        for (int i = 0; i < d; i++) {
            for (int j = 0; j <= i; j++) {
                cov[i][j] /= samples.size() - 1;
                cov[j][i] = cov[i][j];
            }
        }
        return new GaussianFit(mean, cov);
    }

    public int dimension() {
        return mean.length;
    }

    public double[] mean() {
        return mean.clone();
    }

    public double[][] covariance() {
        double[][] copy = new double[covariance.length][];
        for (int i = 0; i < copy.length; i++) {
            copy[i] = covariance[i].clone();
        }
        return copy;
    }
}
