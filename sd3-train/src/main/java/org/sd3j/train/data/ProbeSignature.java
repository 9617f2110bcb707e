package org.sd3j.train.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * A compact summary of one component's output for a fixed probe input: shape, mean, RMS and
 * {@value #SAMPLES} values at fixed positions. Two summaries {@link #mismatch match} when the shapes are equal and
 * every statistic agrees within {@value #TOLERANCE} of the larger RMS.
 *
 * <p>Why a tolerance and not a hash of the bits: the same weights give slightly different floats on another
 * execution provider, thread count or CPU (a CUDA-built cache must still open on the CPU), while different weights
 * change the outputs by about their whole RMS. 2% separates the two by orders of magnitude.
 *
 * @param shape   the output's shape
 * @param mean    the mean of all elements
 * @param rms     the root mean square of all elements
 * @param samples the elements at flat indices {@code (2i + 1) * size / 32}, i = 0..15
 */
public record ProbeSignature(List<Integer> shape, double mean, double rms, List<Double> samples) {
    /** Values recorded per output. */
    public static final int SAMPLES = 16;
    /** Largest difference of any statistic, as a fraction of the larger RMS, that still matches. */
    public static final double TOLERANCE = 0.02;

    public ProbeSignature {
        shape = List.copyOf(Checks.notNull(shape, "shape"));
        samples = List.copyOf(Checks.notNull(samples, "samples"));
        Checks.finite(mean, "mean");
        Checks.finiteNonNegative(rms, "rms");
    }

    /** The signature of {@code output}. */
    public static ProbeSignature of(Tensor output) {
        Checks.notNull(output, "output");
        int n = output.size();
        double sum = 0;
        double squares = 0;
        for (int i = 0; i < n; i++) {
            double v = output.get(i);
            sum += v;
            squares += v * v;
        }
        List<Double> samples = new ArrayList<>();
        for (int i = 0; n > 0 && i < SAMPLES; i++) {
            samples.add((double) output.get((int) ((2L * i + 1) * n / (2L * SAMPLES))));
        }
        List<Integer> shape = Arrays.stream(output.shape()).boxed().toList();
        return new ProbeSignature(shape, n == 0 ? 0 : sum / n, n == 0 ? 0 : Math.sqrt(squares / n), samples);
    }

    /** Empty when {@code other} matches this; else what differs, for an error message. */
    public Optional<String> mismatch(ProbeSignature other) {
        Checks.notNull(other, "other");
        if (!shape.equals(other.shape) || samples.size() != other.samples.size()) {
            return Optional.of("shape " + shape + " vs " + other.shape);
        }
        double scale = Math.max(Math.max(rms, other.rms), 1e-12);
        double worst = Math.max(Math.abs(mean - other.mean), Math.abs(rms - other.rms));
        for (int i = 0; i < samples.size(); i++) {
            worst = Math.max(worst, Math.abs(samples.get(i) - other.samples.get(i)));
        }
        if (worst <= TOLERANCE * scale) {
            return Optional.empty();
        }
        return Optional.of(String.format(Locale.ROOT, "values differ by up to %.3g (%.3g of their RMS %.3g;"
                + " tolerance %.2g)", worst, worst / scale, scale, TOLERANCE));
    }
}
