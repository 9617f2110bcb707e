package org.sd3j.examples.shapes;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.sd3j.internal.Checks;

/**
 * A seeded, endless, random-access sequence of captioned scenes: scene {@code i} of seed {@code s} is always the same
 * on every JVM and platform (it depends only on {@code s} and {@code i}, through {@link Random}, whose algorithm is
 * specified).
 *
 * <p><b>Mix.</b> 12% signs (a word from {@link CaptionVocabulary#signWords()}); the rest shapes: 60% a lone object
 * (small, extent 0.23 to 0.27, or large, 0.43 to 0.47, near the centre of one of the 9 {@link Position} cells),
 * 20% two, 20% three objects (extent 0.21 to 0.31, anywhere, at least {@link #GROUP_GAP} apart). Shape, colour,
 * background (never the object colour), size, cell and word are uniform; each scene is captioned
 * {@link CaptionStyle#TERSE terse} or {@link CaptionStyle#DETAILED detailed} with equal chance.
 *
 * <p><b>Held-out splits.</b> A different seed gives an independent sequence: train on scenes {@code 0..n-1} of one
 * seed and evaluate on captions from another seed (or on indices {@code n} and up of the same seed; both are
 * disjoint from the training images). The attribute combinations are finite (7,776 for lone objects, 864 for groups,
 * 2,304 for signs), so a held-out caption often repeats a training caption word for word: a split holds out images
 * (exact places and extents), not compositions; it measures adherence, not compositional generalisation.
 *
 * <p>Immutable and thread-safe.
 */
public final class SceneGenerator {
    /** Share of signs among scenes. */
    static final double SIGN_SHARE = 0.12;
    /** Least distance between the bounding boxes of two objects of a group, as a fraction of the image side. */
    public static final double GROUP_GAP = 0.08;
    /** Least distance between an object and the image edge, as a fraction of the image side. */
    static final double EDGE_MARGIN = 0.02;

    private final long seed;

    public SceneGenerator(long seed) {
        this.seed = seed;
    }

    public long seed() {
        return seed;
    }

    /** Scene {@code index} (>= 0) of this seed's sequence. */
    public CaptionedScene get(long index) {
        if (index < 0) {
            throw new IllegalArgumentException("index must be >= 0, found " + index);
        }
        Random random = new Random(mix(seed, index));
        CaptionStyle style = random.nextBoolean() ? CaptionStyle.TERSE : CaptionStyle.DETAILED;
        NamedColor color = pick(random, NamedColor.values());
        NamedColor background = otherThan(random, color);
        Scene scene;
        if (random.nextDouble() < SIGN_SHARE) {
            List<String> words = CaptionVocabulary.signWords();
            scene = new SignScene(words.get(random.nextInt(words.size())), color, background);
        } else {
            Shape shape = pick(random, Shape.values());
            double r = random.nextDouble();
            scene = r < 0.6 ? single(random, shape, color, background)
                    : group(random, shape, color, background, r < 0.8 ? 2 : 3);
        }
        return new CaptionedScene(scene, style);
    }

    /** Scenes {@code from} to {@code from + count - 1}. */
    public List<CaptionedScene> range(long from, int count) {
        Checks.atLeast(count, 0, "count");
        List<CaptionedScene> scenes = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            scenes.add(get(from + i));
        }
        return scenes;
    }

    /** Every word any caption can contain: {@link CaptionVocabulary#words()}. */
    public static List<String> vocabulary() {
        return CaptionVocabulary.words();
    }

    private static ShapeScene single(Random random, Shape shape, NamedColor color, NamedColor background) {
        ObjectSize size = pick(random, ObjectSize.values());
        Position position = pick(random, Position.values());
        double extent = size.nominalExtent() + uniform(random, ObjectSize.SPREAD);
        // Less jitter for large objects: a large one in a corner cell has little room to the edge.
        double jitter = size == ObjectSize.SMALL ? 0.04 : 0.02;
        double aspect = shape.aspectRatio();
        double halfWidth = extent * Math.min(1, aspect) / 2;
        double halfHeight = extent * Math.min(1, 1 / aspect) / 2;
        double x = clamp(position.centerX() + uniform(random, jitter), halfWidth);
        double y = clamp(position.centerY() + uniform(random, jitter), halfHeight);
        return ShapeScene.single(shape, color, background, size, position, new SceneObject(x, y, extent));
    }

    private static ShapeScene group(Random random, Shape shape, NamedColor color, NamedColor background, int count) {
        double aspect = shape.aspectRatio();
        while (true) {
            double extent = 0.26 + uniform(random, 0.04);
            List<SceneObject> objects = new ArrayList<>();
            for (int attempt = 0; attempt < 200 && objects.size() < count; attempt++) {
                double e = extent + uniform(random, 0.01);
                double halfWidth = e * Math.min(1, aspect) / 2;
                double halfHeight = e * Math.min(1, 1 / aspect) / 2;
                double x = halfWidth + EDGE_MARGIN + random.nextDouble() * (1 - 2 * (halfWidth + EDGE_MARGIN));
                double y = halfHeight + EDGE_MARGIN + random.nextDouble() * (1 - 2 * (halfHeight + EDGE_MARGIN));
                SceneObject candidate = new SceneObject(x, y, e);
                if (objects.stream().allMatch(o -> apart(o, candidate, aspect))) {
                    objects.add(candidate);
                }
            }
            if (objects.size() == count) {
                return ShapeScene.group(shape, color, background, objects);
            }
        }
    }

    /** Whether two objects' bounding boxes are at least {@link #GROUP_GAP} apart along x or along y. */
    private static boolean apart(SceneObject a, SceneObject b, double aspect) {
        double halfWidths = (a.extent() + b.extent()) * Math.min(1, aspect) / 2;
        double halfHeights = (a.extent() + b.extent()) * Math.min(1, 1 / aspect) / 2;
        return Math.abs(a.centerX() - b.centerX()) >= halfWidths + GROUP_GAP
                || Math.abs(a.centerY() - b.centerY()) >= halfHeights + GROUP_GAP;
    }

    private static double clamp(double center, double half) {
        return Math.max(half + EDGE_MARGIN, Math.min(1 - half - EDGE_MARGIN, center));
    }

    private static double uniform(Random random, double halfWidth) {
        return (2 * random.nextDouble() - 1) * halfWidth;
    }

    private static <T> T pick(Random random, T[] values) {
        return values[random.nextInt(values.length)];
    }

    private static NamedColor otherThan(Random random, NamedColor color) {
        NamedColor[] all = NamedColor.values();
        int i = random.nextInt(all.length - 1);
        return all[i >= color.ordinal() ? i + 1 : i];
    }

    /** SplitMix64's finaliser over seed and index: neighbouring indices get unrelated {@link Random} seeds. */
    static long mix(long seed, long index) {
        long z = seed + (index + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
