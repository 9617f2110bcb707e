package org.sd3j.examples.shapes;

import java.util.Optional;

/**
 * What {@link AttributeReader} recovered from an image. Every value is read whether or not the image is meant to
 * show it: a word read off a picture of circles is noise, and the evaluator only looks at the attributes a caption
 * states. Immutable.
 *
 * @param background the named colour nearest the border's median colour
 * @param color      the named colour nearest the ink's colour; null when there is no ink
 * @param count      ink components above the speck size (objects, or letters on a sign)
 * @param shape      the most common shape among the components (ties: the larger one's); null without ink
 * @param size       the largest component's size class; null without ink
 * @param position   the cell of the largest component's bounding-box centre; null without ink
 * @param word       the ink read as a sign; null when it does not look like one (no ink, or too wide for its height)
 */
public record SceneReading(NamedColor background, NamedColor color, int count, Shape shape, ObjectSize size,
                          Position position, String word) {

    /** The value read for {@code attribute}, of the type {@link Scene#attributes()} uses; empty if none was read. */
    public Optional<Object> value(Attribute attribute) {
        Object v = switch (attribute) {
            case SHAPE -> shape;
            case COLOR -> color;
            case BACKGROUND -> background;
            case SIZE -> size;
            case POSITION -> position;
            case COUNT -> count;
            case WORD -> word;
        };
        return Optional.ofNullable(v);
    }
}
