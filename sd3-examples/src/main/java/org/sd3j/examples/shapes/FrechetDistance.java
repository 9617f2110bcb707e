package org.sd3j.examples.shapes;

import java.util.List;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.sd3j.internal.Checks;

/**
 * The Frechet distance between two Gaussians, {@code |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))}: FID's formula,
 * here over {@link ImageFeatures} rather than Inception features. It is 0 for equal Gaussians and grows with both
 * the distance between the means and the mismatch of the spreads; its scale is that of the features squared, so
 * compare distances over the same features only.
 *
 * <p>{@code Tr((S1 S2)^(1/2))} is computed as the sum of the square roots of the eigenvalues of the symmetric
 * {@code S1^(1/2) S2 S1^(1/2)}, which has the same eigenvalues as {@code S1 S2}: two symmetric eigendecompositions,
 * no complex arithmetic, and eigenvalues that rounding pushes below zero (singular covariances, e.g. histogram bins
 * that sum to 1) are taken as zero. Stateless.
 */
public final class FrechetDistance {
    private FrechetDistance() {
    }

    /** The distance between Gaussians fitted to two feature sets (each at least 2 vectors, all of one length). */
    public static double between(List<double[]> first, List<double[]> second) {
        return between(GaussianFit.of(first), GaussianFit.of(second));
    }

    public static double between(GaussianFit first, GaussianFit second) {
        Checks.notNull(first, "first");
        Checks.notNull(second, "second");
        if (first.dimension() != second.dimension()) {
            throw new IllegalArgumentException("second.dimension must be " + first.dimension() + ", found "
                    + second.dimension());
        }
        double[] m1 = first.mean();
        double[] m2 = second.mean();
        double meanTerm = 0;
        for (int i = 0; i < m1.length; i++) {
            meanTerm += (m1[i] - m2[i]) * (m1[i] - m2[i]);
        }
        RealMatrix s1 = new Array2DRowRealMatrix(first.covariance(), false);
        RealMatrix s2 = new Array2DRowRealMatrix(second.covariance(), false);
        RealMatrix root1 = sqrt(s1);
        RealMatrix product = root1.multiply(s2).multiply(root1);
        double traceRoot = 0;
        for (double lambda : new EigenDecomposition(symmetrized(product)).getRealEigenvalues()) {
            traceRoot += Math.sqrt(Math.max(0, lambda));
        }
        return Math.max(0, meanTerm + s1.getTrace() + s2.getTrace() - 2 * traceRoot);
    }

    /** The symmetric positive semi-definite square root of a covariance. */
    static RealMatrix sqrt(RealMatrix covariance) {
        EigenDecomposition e = new EigenDecomposition(symmetrized(covariance));
        RealMatrix v = e.getV();
        double[] lambda = e.getRealEigenvalues();
        int d = lambda.length;
        RealMatrix scaled = v.copy();
        for (int j = 0; j < d; j++) {
            double root = Math.sqrt(Math.max(0, lambda[j]));
            for (int i = 0; i < d; i++) {
                scaled.setEntry(i, j, v.getEntry(i, j) * root);
            }
        }
        return scaled.multiply(v.transpose());
    }

    /** {@code (M + M^T) / 2}: rounding leaves products of symmetric matrices a hair off symmetric. */
    private static RealMatrix symmetrized(RealMatrix m) {
        return m.add(m.transpose()).scalarMultiply(0.5);
    }
}
