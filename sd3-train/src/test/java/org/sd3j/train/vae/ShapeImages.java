package org.sd3j.train.vae;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.sd3j.image.Image;

/**
 * Synthetic training images like the bundled default model's: a plain background with a few filled rectangles,
 * ellipses and triangles in random colours, optionally a short word, drawn anti-aliased with Java2D. Image
 * {@code i} of a seed is always the same picture (on one JDK: text rasterization depends on its fonts).
 */
public final class ShapeImages {
    private static final String[] WORDS = {"sd3", "cat", "RED", "box", "Hi", "sun", "JVM", "ok", "flow", "art",
        "dog", "sky", "GO", "tree", "42", "map"};

    private ShapeImages() {
    }

    /** Images {@code first .. first + count - 1} of {@code seed}, {@code size x size}. */
    public static List<Image> draw(long seed, int first, int count, int size, boolean words) {
        List<Image> out = new ArrayList<>(count);
        for (int i = first; i < first + count; i++) {
            out.add(draw(seed, i, size, words));
        }
        return out;
    }

    /** Image {@code index} of {@code seed}. */
    public static Image draw(long seed, int index, int size, boolean words) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(color(r));
            g.fillRect(0, 0, size, size);
            int shapes = 1 + r.nextInt(3);
            for (int s = 0; s < shapes; s++) {
                g.setColor(color(r));
                int w = size / 6 + r.nextInt(size / 2);
                int h = size / 6 + r.nextInt(size / 2);
                int x = r.nextInt(size - w / 2) - w / 4;
                int y = r.nextInt(size - h / 2) - h / 4;
                switch (r.nextInt(4)) {
                    case 0:
                        g.fillRect(x, y, w, h);
                        break;
                    case 1:
                        g.fillOval(x, y, w, h);
                        break;
                    case 2:
                        g.fillPolygon(new int[] {x, x + w, x + w / 2}, new int[] {y + h, y + h, y}, 3);
                        break;
                    default:
                        g.setStroke(new BasicStroke(1 + r.nextInt(4)));
                        g.drawOval(x, y, w, h);
                        break;
                }
            }
            if (words && r.nextBoolean()) {
                g.setColor(color(r));
                g.setFont(new Font(Font.SANS_SERIF, r.nextBoolean() ? Font.BOLD : Font.PLAIN, size / 5 + r.nextInt(
                        size / 6)));
                g.drawString(WORDS[r.nextInt(WORDS.length)], r.nextInt(size / 3), size / 3 + r.nextInt(size / 2));
            }
        } finally {
            g.dispose();
        }
        return Image.fromBufferedImage(img);
    }

    private static Color color(SplittableRandom r) {
        return new Color(r.nextInt(256), r.nextInt(256), r.nextInt(256));
    }
}
