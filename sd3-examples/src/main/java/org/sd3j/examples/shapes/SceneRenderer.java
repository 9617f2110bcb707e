package org.sd3j.examples.shapes;

import java.awt.image.BufferedImage;

import org.sd3j.internal.Checks;

/**
 * Draws scenes with its own rasteriser rather than Java2D, so that a scene is the same bytes on every JVM and
 * platform: each pixel's colour is the background blended with the ink colour by the share of a 4x4 grid of sample
 * points that fall inside the outlines (17 levels of anti-aliasing, integer rounding). Stateless and thread-safe.
 */
public final class SceneRenderer {
    /** The default image side, the bundled model's resolution. */
    public static final int DEFAULT_SIZE = 64;
    static final int MIN_SIZE = 16;
    static final int MAX_SIZE = 1024;
    private static final int SAMPLES = 4;
    private static final int LEVELS = SAMPLES * SAMPLES;

    /** {@code scene} as a {@code size} x {@code size} {@link BufferedImage#TYPE_INT_RGB} image. */
    public BufferedImage render(Scene scene, int size) {
        int[] rgb = renderRgb(scene, size);
        BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        image.setRGB(0, 0, size, size, rgb, 0, size);
        return image;
    }

    /** {@code scene} at {@link #DEFAULT_SIZE}. */
    public BufferedImage render(Scene scene) {
        return render(scene, DEFAULT_SIZE);
    }

    /** {@code scene}'s pixels, packed {@code 0xRRGGBB}, row-major, {@code size * size} of them. */
    public int[] renderRgb(Scene scene, int size) {
        Checks.notNull(scene, "scene");
        if (size < MIN_SIZE || size > MAX_SIZE) {
            throw new IllegalArgumentException("size must be in [" + MIN_SIZE + ", " + MAX_SIZE + "], found " + size);
        }
        int[] coverage = new int[size * size];
        if (scene instanceof ShapeScene shapes) {
            for (SceneObject o : shapes.objects()) {
                cover(coverage, size, o.centerX() - o.extent() / 2, o.centerY() - o.extent() / 2,
                        o.centerX() + o.extent() / 2, o.centerY() + o.extent() / 2,
                        (x, y) -> shapes.shape().contains((x - o.centerX()) / o.extent(),
                                (y - o.centerY()) / o.extent()));
            }
        } else {
            String word = ((SignScene) scene).word();
            double left = BitmapFont.left(word);
            double top = BitmapFont.top(word);
            cover(coverage, size, left, top, 1 - left, 1 - top, (x, y) -> BitmapFont.inkAt(word, x, y));
        }
        int ink = scene.color().rgb();
        int paper = scene.background().rgb();
        int[] rgb = new int[size * size];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = blend(paper, ink, Math.min(LEVELS, coverage[i]));
        }
        return rgb;
    }

    /** Where ink is, in fractions of the image side. */
    @FunctionalInterface
    private interface Outline {
        boolean contains(double x, double y);
    }

    /** Adds the number of inked sample points to each pixel of the box (fractions of the side) the outline is in. */
    private static void cover(int[] coverage, int size, double minX, double minY, double maxX, double maxY,
                              Outline outline) {
        int x0 = Math.max(0, (int) Math.floor(minX * size) - 1);
        int y0 = Math.max(0, (int) Math.floor(minY * size) - 1);
        int x1 = Math.min(size - 1, (int) Math.ceil(maxX * size) + 1);
        int y1 = Math.min(size - 1, (int) Math.ceil(maxY * size) + 1);
        for (int py = y0; py <= y1; py++) {
            for (int px = x0; px <= x1; px++) {
                int inked = 0;
                for (int sy = 0; sy < SAMPLES; sy++) {
                    double y = (py + (sy + 0.5) / SAMPLES) / size;
                    for (int sx = 0; sx < SAMPLES; sx++) {
                        if (outline.contains((px + (sx + 0.5) / SAMPLES) / size, y)) {
                            inked++;
                        }
                    }
                }
                coverage[py * size + px] += inked;
            }
        }
    }

    private static int blend(int paper, int ink, int level) {
        int out = 0;
        for (int shift = 16; shift >= 0; shift -= 8) {
            int p = (paper >> shift) & 0xff;
            int q = (ink >> shift) & 0xff;
            out |= ((p * (LEVELS - level) + q * level + LEVELS / 2) / LEVELS) << shift;
        }
        return out;
    }
}
