package org.sd3j.examples.shapes;

import java.awt.image.BufferedImage;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import org.sd3j.image.Image;

/**
 * Reads a scene's attributes back from an image: clean renders and also the soft, noisy, slightly off-colour images
 * a small generative model draws. Any size from 16 px up; 64 and 128 are what it is tuned for.
 *
 * <ul>
 *   <li>background: the named colour nearest the median of a thin border ring;</li>
 *   <li>ink: pixels at least half as far from the background colour as the ink colour is (the ink colour being
 *   the median of the fifth of them farthest from the background); colour: the named colour nearest the ink colour, in
 *   CIELAB;</li>
 *   <li>count: 4-connected ink components of at least 0.3% of the image (smaller ones are noise);</li>
 *   <li>shape: per component, the {@link Shape} outline that, scaled to the component's area and placed on its
 *   centroid, differs from it in the least area; then the most common one;</li>
 *   <li>size and position: the largest component's larger bounding-box side ({@link ObjectSize#of}) and
 *   bounding-box centre ({@link Position#of});</li>
 *   <li>word: the ink's bounding box cut into the sign font's 5x7 letter cells, each letter the nearest glyph (no
 *   dictionary).</li>
 * </ul>
 *
 * <p>Immutable and thread-safe.
 */
public final class AttributeReader {
    private final ShapeClassifier shapes = new ShapeClassifier();

    public SceneReading read(BufferedImage image) {
        return read(Pixels.of(image));
    }

    public SceneReading read(Image image) {
        return read(Pixels.of(image));
    }

    /** {@code rgb}: packed {@code 0xRRGGBB}, row-major, {@code width * height} of them. */
    public SceneReading read(int width, int height, int[] rgb) {
        return read(Pixels.of(width, height, rgb));
    }

    SceneReading read(Pixels image) {
        Segmentation s = Segmentation.of(image);
        NamedColor background = NamedColor.nearest(s.background);
        List<Component> components = s.components;
        if (components.isEmpty()) {
            return new SceneReading(background, null, 0, null, null, null, null);
        }
        Component largest = components.get(0);
        double extent = Math.max(largest.boxWidth() / (double) image.width,
                largest.boxHeight() / (double) image.height);
        Position position = Position.of((largest.minX + largest.maxX + 1) / 2.0 / image.width,
                (largest.minY + largest.maxY + 1) / 2.0 / image.height);
        return new SceneReading(background, NamedColor.nearest(s.ink), components.size(), commonShape(s),
                ObjectSize.of(extent), position, SignReader.read(s));
    }

    /** The most common shape; components come largest first, so a tie goes to the shape of the larger one. */
    private Shape commonShape(Segmentation s) {
        Map<Shape, Integer> votes = new EnumMap<>(Shape.class);
        Shape best = null;
        int bestVotes = 0;
        for (Component c : s.components) {
            Shape shape = shapes.classify(c);
            int v = votes.merge(shape, 1, Integer::sum);
            if (v > bestVotes) {
                bestVotes = v;
                best = shape;
            }
        }
        return best;
    }
}
