package org.sd3j.examples.shapes;

import java.util.Random;

/**
 * Makes clean renders look more like what a small generative model draws: Gaussian blur (soft edges), a constant
 * per-channel colour shift and Gaussian pixel noise, in that order, each pixel clamped to [0, 255]. Deterministic
 * for a given {@link Random}.
 */
final class ImageDegrader {
    private final double blurSigma;
    private final double maxShift;
    private final double noiseSigma;

    /**
     * @param blurSigma  blur standard deviation in pixels (0: none)
     * @param maxShift   each channel moves by a uniform amount in [-maxShift, maxShift], the same for every pixel
     * @param noiseSigma standard deviation of the per-pixel, per-channel noise, on the 0-255 scale
     */
    ImageDegrader(double blurSigma, double maxShift, double noiseSigma) {
        this.blurSigma = blurSigma;
        this.maxShift = maxShift;
        this.noiseSigma = noiseSigma;
    }

    int[] degrade(int[] rgb, int size, Random random) {
        double[][] channels = new double[3][rgb.length];
        for (int i = 0; i < rgb.length; i++) {
            channels[0][i] = (rgb[i] >> 16) & 0xff;
            channels[1][i] = (rgb[i] >> 8) & 0xff;
            channels[2][i] = rgb[i] & 0xff;
        }
        int[] out = new int[rgb.length];
        for (int c = 0; c < 3; c++) {
            double[] blurred = blurSigma > 0 ? blur(channels[c], size) : channels[c];
            double shift = (2 * random.nextDouble() - 1) * maxShift;
            for (int i = 0; i < rgb.length; i++) {
                double v = blurred[i] + shift + random.nextGaussian() * noiseSigma;
                int q = (int) Math.round(Math.max(0, Math.min(255, v)));
                out[i] |= q << (16 - 8 * c);
            }
        }
        return out;
    }

    /** Separable Gaussian blur, 3 sigma wide, edges clamped. */
    private double[] blur(double[] plane, int size) {
        int radius = (int) Math.ceil(3 * blurSigma);
        double[] kernel = new double[2 * radius + 1];
        double sum = 0;
        for (int k = -radius; k <= radius; k++) {
            kernel[k + radius] = Math.exp(-k * k / (2 * blurSigma * blurSigma));
            sum += kernel[k + radius];
        }
        for (int k = 0; k < kernel.length; k++) {
            kernel[k] /= sum;
        }
        double[] tmp = new double[plane.length];
        double[] out = new double[plane.length];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                double v = 0;
                for (int k = -radius; k <= radius; k++) {
                    v += kernel[k + radius] * plane[y * size + Math.max(0, Math.min(size - 1, x + k))];
                }
                tmp[y * size + x] = v;
            }
        }
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                double v = 0;
                for (int k = -radius; k <= radius; k++) {
                    v += kernel[k + radius] * tmp[Math.max(0, Math.min(size - 1, y + k)) * size + x];
                }
                out[y * size + x] = v;
            }
        }
        return out;
    }
}
