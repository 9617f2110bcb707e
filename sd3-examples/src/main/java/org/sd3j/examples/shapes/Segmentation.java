package org.sd3j.examples.shapes;

import java.util.Arrays;
import java.util.List;

/**
 * An image split into background and ink. The background colour is the median of a thin ring of border pixels
 * (objects touch the border little, if at all); the ink colour is the median of the fifth of the clearly different
 * pixels that differ most from it. Ink pixels are those at least half as far from the background colour as the ink
 * colour is: the half-way threshold keeps an anti-aliased or blurred outline where it was drawn, whatever the two
 * colours. Immutable.
 */
final class Segmentation {
    /** RGB distance a first, colour-blind pass needs to call a pixel ink: well above sigma-8 noise. */
    private static final double FIRST_PASS_DISTANCE = 48;
    /** The least final threshold, for ink barely different from the background. */
    private static final double MIN_DISTANCE = 32;
    /** Smaller components (as a share of the image) are specks of noise. */
    private static final double MIN_AREA_SHARE = 0.003;

    final Pixels image;
    final int background;
    /** Packed ink colour; meaningless when {@link #components} is empty. */
    final int ink;
    final boolean[] mask;
    /** Ink components, largest first. */
    final List<Component> components;
    /** Components smaller than this many pixels are dropped as specks. */
    final int minArea;

    private Segmentation(Pixels image, int background, int ink, boolean[] mask, List<Component> components,
                         int minArea) {
        this.image = image;
        this.minArea = minArea;
        this.background = background;
        this.ink = ink;
        this.mask = mask;
        this.components = components;
    }

    static Segmentation of(Pixels image) {
        int background = borderMedian(image);
        int n = image.rgb.length;
        double[] distance = new double[n];
        boolean[] rough = new boolean[n];
        for (int i = 0; i < n; i++) {
            distance[i] = distance(image.rgb[i], background);
            rough[i] = distance[i] >= FIRST_PASS_DISTANCE;
        }
        int minArea = Math.max(4, (int) Math.round(MIN_AREA_SHARE * n));
        List<Component> roughComponents = Component.find(rough, image.width, minArea);
        if (roughComponents.isEmpty()) {
            return new Segmentation(image, background, background, new boolean[n], List.of(), minArea);
        }
        int ink = inkColor(image, distance, roughComponents);
        double threshold = Math.max(MIN_DISTANCE, distance(ink, background) / 2);
        boolean[] mask = new boolean[n];
        for (int i = 0; i < n; i++) {
            mask[i] = distance[i] >= threshold;
        }
        return new Segmentation(image, background, ink, mask, List.copyOf(Component.find(mask, image.width,
                minArea)), minArea);
    }

    /**
     * How far pixel {@code i} has gone from the background towards the ink colour: 0 background, 1 ink, clamped;
     * an anti-aliased edge pixel reads as its coverage.
     */
    double inkLevel(int i) {
        int p = image.rgb[i];
        double dr = Pixels.red(ink) - Pixels.red(background);
        double dg = Pixels.green(ink) - Pixels.green(background);
        double db = Pixels.blue(ink) - Pixels.blue(background);
        double norm = dr * dr + dg * dg + db * db;
        if (norm == 0) {
            return 0;
        }
        double t = ((Pixels.red(p) - Pixels.red(background)) * dr + (Pixels.green(p) - Pixels.green(background)) * dg
                + (Pixels.blue(p) - Pixels.blue(background)) * db) / norm;
        return Math.max(0, Math.min(1, t));
    }

    static double distance(int a, int b) {
        double dr = Pixels.red(a) - Pixels.red(b);
        double dg = Pixels.green(a) - Pixels.green(b);
        double db = Pixels.blue(a) - Pixels.blue(b);
        return Math.sqrt(dr * dr + dg * dg + db * db);
    }

    /** Per-channel median of a ring about 1/32 of the side wide (2 px at 64). */
    private static int borderMedian(Pixels image) {
        int w = image.width;
        int h = image.height;
        int ring = Math.max(1, Math.min(w, h) / 32);
        int[] samples = new int[w * h];
        int n = 0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (x < ring || y < ring || x >= w - ring || y >= h - ring) {
                    samples[n++] = image.rgb[y * w + x];
                }
            }
        }
        return median(samples, n);
    }

    /**
     * Per-channel median of the fifth of the components' pixels farthest from the background: their cores, which
     * blur leaves at (nearly) the full ink colour even in small objects.
     */
    private static int inkColor(Pixels image, double[] distance, List<Component> components) {
        // Distances are at most sqrt(3) * 255 < 442: a histogram finds the cut without sorting.
        int[] histogram = new int[443];
        int total = 0;
        for (Component c : components) {
            for (int p : c.pixels) {
                histogram[(int) distance[p]]++;
            }
            total += c.area();
        }
        int wanted = Math.max(1, total / 5);
        int cut = histogram.length - 1;
        for (int seen = histogram[cut]; seen < wanted; seen += histogram[--cut]) {
            // Walks down from the largest distance until a fifth of the pixels lie at or above the cut.
        }
        int[] core = new int[total];
        int n = 0;
        for (Component c : components) {
            for (int p : c.pixels) {
                if (distance[p] >= cut) {
                    core[n++] = image.rgb[p];
                }
            }
        }
        return median(core, n);
    }

    private static int median(int[] rgb, int n) {
        int[] r = new int[n];
        int[] g = new int[n];
        int[] b = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = Pixels.red(rgb[i]);
            g[i] = Pixels.green(rgb[i]);
            b[i] = Pixels.blue(rgb[i]);
        }
        Arrays.sort(r);
        Arrays.sort(g);
        Arrays.sort(b);
        return r[n / 2] << 16 | g[n / 2] << 8 | b[n / 2];
    }
}
