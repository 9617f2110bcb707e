package org.sd3j.train.data;

/**
 * Separable resampling of float planes over a (possibly fractional) source window: area averaging where the output
 * is smaller than the window (each output pixel is the overlap-weighted mean of the source pixels it covers, like
 * OpenCV's INTER_AREA, so downscaling never aliases), bilinear with half-pixel centers where it is larger (like
 * PyTorch's {@code align_corners=False}). Pure Java arithmetic in double: the same bytes on every JVM.
 */
final class Resampler {
    /** Source pixels (first index, weights) that make each output pixel along one axis. */
    private record Axis(int[] first, double[][] weights) {
    }

    private Resampler() {
    }

    /**
     * Resamples {@code plane} ({@code [height, width]} row-major) over the window starting at ({@code left},
     * {@code top}) of size {@code windowWidth x windowHeight} source pixels to {@code outWidth x outHeight}.
     */
    static float[] resample(float[] plane, int width, int height, double left, double top, double windowWidth,
                            double windowHeight, int outWidth, int outHeight) {
        Axis xs = axis(width, left, windowWidth, outWidth);
        Axis ys = axis(height, top, windowHeight, outHeight);
        int rowFrom = ys.first()[0];
        int rowTo = ys.first()[outHeight - 1] + ys.weights()[outHeight - 1].length;
        // Horizontal pass over only the rows the vertical pass reads.
        double[][] rows = new double[rowTo - rowFrom][outWidth];
        for (int y = rowFrom; y < rowTo; y++) {
            double[] row = rows[y - rowFrom];
            int base = y * width;
            for (int x = 0; x < outWidth; x++) {
                double[] w = xs.weights()[x];
                int first = xs.first()[x];
                double sum = 0;
                for (int k = 0; k < w.length; k++) {
                    sum += w[k] * plane[base + first + k];
                }
                row[x] = sum;
            }
        }
        float[] out = new float[outWidth * outHeight];
        for (int y = 0; y < outHeight; y++) {
            double[] w = ys.weights()[y];
            int first = ys.first()[y] - rowFrom;
            for (int x = 0; x < outWidth; x++) {
                double sum = 0;
                for (int k = 0; k < w.length; k++) {
                    sum += w[k] * rows[first + k][x];
                }
                out[y * outWidth + x] = (float) sum;
            }
        }
        return out;
    }

    private static Axis axis(int size, double from, double length, int out) {
        double step = length / out;
        int[] first = new int[out];
        double[][] weights = new double[out][];
        for (int i = 0; i < out; i++) {
            if (step >= 1) {
                area(size, from + i * step, from + (i + 1) * step, i, first, weights);
            } else {
                bilinear(size, from + (i + 0.5) * step - 0.5, i, first, weights);
            }
        }
        return new Axis(first, weights);
    }

    private static void area(int size, double lo, double hi, int i, int[] first, double[][] weights) {
        int a = Math.max(0, (int) Math.floor(lo));
        int b = Math.min(size, (int) Math.ceil(hi));
        double[] w = new double[Math.max(1, b - a)];
        double total = 0;
        for (int j = a; j < b; j++) {
            double overlap = Math.min(hi, j + 1) - Math.max(lo, j);
            w[j - a] = Math.max(0, overlap);
            total += w[j - a];
        }
        if (total <= 0) {
            // Only reachable for a window outside the image; fall back to the nearest edge pixel.
            a = Math.min(Math.max(a, 0), size - 1);
            w = new double[] {1};
            total = 1;
        }
        for (int k = 0; k < w.length; k++) {
            w[k] /= total;
        }
        first[i] = a;
        weights[i] = w;
    }

    private static void bilinear(int size, double center, int i, int[] first, double[][] weights) {
        double c = Math.min(Math.max(center, 0), size - 1);
        int j = (int) Math.floor(c);
        double t = c - j;
        if (j + 1 >= size || t == 0) {
            first[i] = j;
            weights[i] = new double[] {1};
        } else {
            first[i] = j;
            weights[i] = new double[] {1 - t, t};
        }
    }
}
