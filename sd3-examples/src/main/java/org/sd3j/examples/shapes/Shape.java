package org.sd3j.examples.shapes;

import java.util.Arrays;
import java.util.Locale;

/**
 * The shapes of the dataset, always upright (never rotated), so that a small model only has to learn one outline per
 * shape. Each has a unit outline: its bounding box is centred on the origin and its larger side is 1 (image
 * coordinates, y down), which is what a {@link SceneObject}'s extent scales. The six are chosen to differ in
 * measures that survive blur at 64 px: how much of the bounding box they fill (circle 0.79, square 1, triangle and
 * diamond 0.5, cross 0.59, star 0.38), how much of their convex hull they fill (star 0.56, cross 0.74, the others
 * 1), where their mass sits (a triangle's centroid is two thirds down) and their width to height ratio (diamond
 * 0.8). Immutable.
 */
public enum Shape {
    CIRCLE("circle", "circles", null),
    SQUARE("square", "squares", new double[] {-0.5, -0.5, 0.5, -0.5, 0.5, 0.5, -0.5, 0.5}),
    TRIANGLE("triangle", "triangles", new double[] {0, -0.45, 0.5, 0.45, -0.5, 0.45}),
    DIAMOND("diamond", "diamonds", new double[] {0, -0.5, 0.4, 0, 0, 0.5, -0.4, 0}),
    STAR("star", "stars", star(0.45)),
    CROSS("cross", "crosses", cross(0.36));

    private final String word;
    private final String plural;
    /** Outline vertices as x0, y0, x1, y1, ...; null for the circle. */
    private final double[] polygon;

    Shape(String word, String plural, double[] polygon) {
        this.word = word;
        this.plural = plural;
        this.polygon = polygon;
    }

    /** The singular caption word, e.g. {@code circle}. */
    public String word() {
        return word;
    }

    /** The plural caption word, e.g. {@code crosses}. */
    public String plural() {
        return plural;
    }

    /**
     * Whether the unit outline contains the point (x, y) (bounding box centred on the origin, larger side 1, y down).
     */
    public boolean contains(double x, double y) {
        if (polygon == null) {
            return x * x + y * y <= 0.25;
        }
        return insidePolygon(polygon, x, y);
    }

    /** Width over height of the unit outline's bounding box. */
    public double aspectRatio() {
        if (polygon == null) {
            return 1;
        }
        double[] box = bounds(polygon);
        return (box[2] - box[0]) / (box[3] - box[1]);
    }

    /** The shape whose singular word is {@code word}. */
    public static Shape ofWord(String word) {
        for (Shape s : values()) {
            if (s.word.equals(word)) {
                return s;
            }
        }
        throw new IllegalArgumentException("word must be a shape name (" + Arrays.toString(values())
                .toLowerCase(Locale.ROOT) + "), found " + word);
    }

    /** Even-odd rule; the star is the only concave outline and has no self-intersections. */
    private static boolean insidePolygon(double[] p, double x, double y) {
        boolean inside = false;
        int n = p.length / 2;
        for (int i = 0, j = n - 1; i < n; j = i++) {
            double xi = p[2 * i];
            double yi = p[2 * i + 1];
            double xj = p[2 * j];
            double yj = p[2 * j + 1];
            if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) {
                inside = !inside;
            }
        }
        return inside;
    }

    /** A five-pointed star, one point up, inner radius {@code inner} times the outer one. */
    private static double[] star(double inner) {
        double[] p = new double[20];
        for (int i = 0; i < 10; i++) {
            double r = i % 2 == 0 ? 1 : inner;
            // StrictMath: the outline, and so every rendered byte, must not depend on the platform's sin/cos.
            double angle = StrictMath.PI * i / 5;
            p[2 * i] = r * StrictMath.sin(angle);
            p[2 * i + 1] = -r * StrictMath.cos(angle);
        }
        return normalize(p);
    }

    /** A plus sign whose arms are {@code thickness} of its width thick. */
    private static double[] cross(double thickness) {
        double t = thickness / 2;
        return new double[] {-t, -0.5, t, -0.5, t, -t, 0.5, -t, 0.5, t, t, t, t, 0.5, -t, 0.5, -t, t, -0.5, t,
                -0.5, -t, -t, -t};
    }

    /** Moves and scales an outline so that its bounding box is centred on the origin with larger side 1. */
    private static double[] normalize(double[] p) {
        double[] box = bounds(p);
        double cx = (box[0] + box[2]) / 2;
        double cy = (box[1] + box[3]) / 2;
        double scale = Math.max(box[2] - box[0], box[3] - box[1]);
        double[] out = new double[p.length];
        for (int i = 0; i < p.length; i += 2) {
            out[i] = (p[i] - cx) / scale;
            out[i + 1] = (p[i + 1] - cy) / scale;
        }
        return out;
    }

    /** {minX, minY, maxX, maxY}. */
    private static double[] bounds(double[] p) {
        double[] box = {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
                Double.NEGATIVE_INFINITY};
        for (int i = 0; i < p.length; i += 2) {
            box[0] = Math.min(box[0], p[i]);
            box[1] = Math.min(box[1], p[i + 1]);
            box[2] = Math.max(box[2], p[i]);
            box[3] = Math.max(box[3], p[i + 1]);
        }
        return box;
    }
}
