package org.sd3j.examples.shapes;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import org.sd3j.internal.Checks;

/**
 * A word in blocky capital letters across the middle of a plain background: the one thing in the dataset that only
 * reading the caption's letters (a case-sensitive T5 encoder) can get right. Immutable and thread-safe.
 *
 * @param word       1 to {@link #MAX_LETTERS} letters A to Z
 * @param color      the letters' colour
 * @param background the background colour, not {@code color}
 */
public record SignScene(String word, NamedColor color, NamedColor background) implements Scene {
    /** Longer words would need cells under 2 px at 64 px. */
    public static final int MAX_LETTERS = 5;

    public SignScene {
        Checks.notNull(word, "word");
        Checks.notNull(color, "color");
        Checks.notNull(background, "background");
        if (word.isEmpty() || word.length() > MAX_LETTERS
                || !word.chars().allMatch(c -> BitmapFont.isLetter((char) c))) {
            throw new IllegalArgumentException("word must be 1 to " + MAX_LETTERS + " letters A-Z, found '" + word
                    + "'");
        }
        if (color == background) {
            throw new IllegalArgumentException("background must differ from the letter colour, found "
                    + background.word());
        }
    }

    @Override
    public Map<Attribute, Object> attributes() {
        Map<Attribute, Object> values = new EnumMap<>(Attribute.class);
        values.put(Attribute.COLOR, color);
        values.put(Attribute.BACKGROUND, background);
        values.put(Attribute.WORD, word);
        return Collections.unmodifiableMap(values);
    }

    @Override
    public String caption(CaptionStyle style) {
        Checks.notNull(style, "style");
        if (style == CaptionStyle.TERSE) {
            return "sign " + word;
        }
        String backdrop = "on " + Articles.before(background.word()) + " " + background.word() + " background";
        return "a sign that says " + word + ", " + color.word() + " letters " + backdrop;
    }

    @Override
    public Set<Attribute> mentioned(CaptionStyle style) {
        Checks.notNull(style, "style");
        return Collections.unmodifiableSet(style == CaptionStyle.TERSE ? EnumSet.of(Attribute.WORD)
                : EnumSet.of(Attribute.COLOR, Attribute.BACKGROUND, Attribute.WORD));
    }
}
