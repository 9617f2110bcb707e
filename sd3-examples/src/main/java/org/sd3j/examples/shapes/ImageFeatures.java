package org.sd3j.examples.shapes;

import java.awt.image.BufferedImage;
import java.util.List;

import org.sd3j.image.Image;

/**
 * A short, hand-made description of an image for {@link FrechetDistance}, in place of an Inception embedding (which
 * knows nothing of 64 px shapes): {@value #LENGTH} numbers.
 *
 * <ul>
 *   <li>0-8: the share of pixels whose nearest named colour (CIELAB) is each {@link NamedColor}, in enum order;</li>
 *   <li>9: the share of ink pixels ({@link AttributeReader}'s segmentation);</li>
 *   <li>10-11: the ink's centroid, as fractions of width and height (0.5 without ink);</li>
 *   <li>12-14: the ink's second central moments xx, yy and xy, in units of the image side squared;</li>
 *   <li>15: the number of ink components.</li>
 * </ul>
 *
 * <p>Immutable and thread-safe (pixel colours are named through a table built once per instance).
 */
public final class ImageFeatures {
    /** Numbers per image. */
    public static final int LENGTH = NamedColor.values().length + 7;
    /** Bits kept per channel for the colour-naming table: 32 levels, 8 apart. */
    private static final int BITS = 5;

    /** Named-colour ordinal per RGB cell of {@link #BITS} bits per channel. */
    private final byte[] names;

    public ImageFeatures() {
        int levels = 1 << BITS;
        int step = 256 / levels;
        names = new byte[levels * levels * levels];
        for (int r = 0; r < levels; r++) {
            for (int g = 0; g < levels; g++) {
                for (int b = 0; b < levels; b++) {
                    int rgb = (r * step + step / 2) << 16 | (g * step + step / 2) << 8 | (b * step + step / 2);
                    names[(r * levels + g) * levels + b] = (byte) NamedColor.nearest(rgb).ordinal();
                }
            }
        }
    }

    public double[] of(BufferedImage image) {
        return of(Pixels.of(image));
    }

    public double[] of(Image image) {
        return of(Pixels.of(image));
    }

    /** {@code rgb}: packed {@code 0xRRGGBB}, row-major, {@code width * height} of them. */
    public double[] of(int width, int height, int[] rgb) {
        return of(Pixels.of(width, height, rgb));
    }

    double[] of(Pixels image) {
        double[] f = new double[LENGTH];
        int palette = NamedColor.values().length;
        int n = image.rgb.length;
        int shift = 8 - BITS;
        for (int p : image.rgb) {
            int cell = ((Pixels.red(p) >> shift) << (2 * BITS)) | ((Pixels.green(p) >> shift) << BITS)
                    | (Pixels.blue(p) >> shift);
            f[names[cell]] += 1.0 / n;
        }
        Segmentation s = Segmentation.of(image);
        List<Component> components = s.components;
        double count = 0;
        double sumX = 0;
        double sumY = 0;
        double sumXX = 0;
        double sumYY = 0;
        double sumXY = 0;
        for (Component c : components) {
            for (int p : c.pixels) {
                double x = (p % image.width + 0.5) / image.width;
                double y = (p / image.width + 0.5) / image.height;
                count++;
                sumX += x;
                sumY += y;
                sumXX += x * x;
                sumYY += y * y;
                sumXY += x * y;
            }
        }
        f[palette] = count / n;
        if (count > 0) {
            double mx = sumX / count;
            double my = sumY / count;
            f[palette + 1] = mx;
            f[palette + 2] = my;
            f[palette + 3] = sumXX / count - mx * mx;
            f[palette + 4] = sumYY / count - my * my;
            f[palette + 5] = sumXY / count - mx * my;
        } else {
            f[palette + 1] = 0.5;
            f[palette + 2] = 0.5;
        }
        f[palette + 6] = components.size();
        return f;
    }
}
