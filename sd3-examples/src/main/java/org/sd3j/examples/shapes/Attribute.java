package org.sd3j.examples.shapes;

import java.util.Locale;

/** What a caption can say about a scene, and so what an evaluation checks. Immutable. */
public enum Attribute {
    /** The objects' shape ({@link Shape}). */
    SHAPE,
    /** The objects' or letters' colour ({@link NamedColor}). */
    COLOR,
    /** The background colour ({@link NamedColor}). */
    BACKGROUND,
    /** A lone object's size ({@link ObjectSize}). */
    SIZE,
    /** A lone object's place in the 3x3 grid ({@link Position}). */
    POSITION,
    /** How many objects (an {@link Integer}, 1 to 3). */
    COUNT,
    /** The word on a sign (a {@link String} of uppercase letters). */
    WORD;

    /** Lowercase name, as in {@code metadata.jsonl}: {@code shape}, {@code color}, ... */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * An attribute value as captions word it: {@code circle}, {@code red}, {@code large}, {@code top left}, {@code 2},
     * {@code CAT}; "none" for null.
     */
    public static String format(Object value) {
        if (value instanceof Shape s) {
            return s.word();
        } else if (value instanceof NamedColor c) {
            return c.word();
        } else if (value instanceof ObjectSize s) {
            return s.word();
        } else if (value instanceof Position p) {
            return p.words();
        }
        return String.valueOf(value == null ? "none" : value);
    }
}
