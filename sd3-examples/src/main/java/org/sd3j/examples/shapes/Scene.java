package org.sd3j.examples.shapes;

import java.util.Map;
import java.util.Set;

/**
 * One picture of the shapes dataset, as its ground truth: what {@link SceneRenderer} draws, what the captions say
 * and what {@link SceneEvaluator} checks a generated image against. Either shapes ({@link ShapeScene}) or a word
 * ({@link SignScene}). Immutable and thread-safe.
 */
public sealed interface Scene permits ShapeScene, SignScene {
    /** The colour of the objects or letters. */
    NamedColor color();

    /** The background colour, never {@link #color()}. */
    NamedColor background();

    /**
     * Every attribute the scene defines and its value ({@link Shape}, {@link NamedColor}, {@link ObjectSize},
     * {@link Position}, an {@link Integer} count or a {@link String} word), in {@link Attribute} order.
     */
    Map<Attribute, Object> attributes();

    /** The caption in {@code style}: words from {@link CaptionVocabulary#words()}, spaces and commas. */
    String caption(CaptionStyle style);

    /** The attributes the {@code style} caption states, in {@link Attribute} order: what adherence is scored on. */
    Set<Attribute> mentioned(CaptionStyle style);
}
