package org.sd3j.examples.shapes;

/** English indefinite articles for caption words. Stateless. */
final class Articles {
    private Articles() {
    }

    /** "a" or "an", whichever goes before {@code word} (caption words: no silent h, no "u" read as "you"). */
    static String before(String word) {
        return "aeiou".indexOf(word.charAt(0)) >= 0 ? "an" : "a";
    }
}
