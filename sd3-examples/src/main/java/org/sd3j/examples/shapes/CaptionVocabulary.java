package org.sd3j.examples.shapes;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Every word a caption of the shapes dataset can contain, for building tokenizers. Captions are these words
 * separated by single spaces, with a comma right after some words; {@link #split} undoes that. Words appear as in
 * captions: lowercase, except the sign words, which are uppercase (a CLIP tokenizer lowercases them, T5 does not).
 * Stateless.
 */
public final class CaptionVocabulary {
    /**
     * The words signs say: three or four letters, none a word of the rest of the vocabulary even lowercased (so a
     * lowercasing tokenizer cannot confuse "sign RED" with a colour).
     */
    private static final List<String> SIGN_WORDS = List.of(
            "CAT", "DOG", "SUN", "SKY", "BOX", "FOX", "OWL", "BEE", "CAR", "BUS", "TOY", "HAT", "MAP", "PEN", "CUP",
            "KEY", "ZOO", "ICE", "EGG", "JAM", "FISH", "BIRD", "MOON", "TREE", "LOVE", "HOME", "BOOK", "FROG", "DUCK",
            "CAKE", "RAIN", "SNOW");

    private static final List<String> FUNCTION_WORDS = List.of(
            "a", "an", "on", "in", "at", "the", "background", "two", "three", "sign", "that", "says", "letters");

    private CaptionVocabulary() {
    }

    /** Every caption word, each once, in a fixed order (function words, colours, shapes, sizes, places, signs). */
    public static List<String> words() {
        Set<String> words = new LinkedHashSet<>(FUNCTION_WORDS);
        for (NamedColor c : NamedColor.values()) {
            words.add(c.word());
        }
        for (Shape s : Shape.values()) {
            words.add(s.word());
            words.add(s.plural());
        }
        for (ObjectSize s : ObjectSize.values()) {
            words.add(s.word());
        }
        for (Position p : Position.values()) {
            words.addAll(split(p.phrase()));
        }
        words.addAll(SIGN_WORDS);
        return List.copyOf(words);
    }

    /** The words signs say, uppercase, in a fixed order. */
    public static List<String> signWords() {
        return SIGN_WORDS;
    }

    /** A caption's words in order, without spaces and commas. */
    public static List<String> split(String caption) {
        List<String> words = new ArrayList<>();
        for (String w : caption.split("[ ,]+")) {
            if (!w.isEmpty()) {
                words.add(w);
            }
        }
        return words;
    }
}
