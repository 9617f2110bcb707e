package org.sd3j.examples.defaultmodel;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small T5-style Unigram vocabulary as a HuggingFace {@code tokenizer.json}, shaped like the T5 tokenizers
 * diffusers ships: ids 0, 1, 2 are {@code <pad>}, {@code </s>}, {@code <unk>}; SentencePiece's {@code ▁} marks a
 * word start (Metaspace pre-tokenizer); the post-processor appends {@code </s>}. Pieces: {@code ▁}, each letter,
 * digit and common punctuation mark with and without {@code ▁}, then {@code ▁word} for each listed word. Whole
 * words score far above spelling them out, so a listed word is one piece and anything else falls back to
 * characters. Unlike T5 the normalizer lowercases, because the vocabulary has no capitals. Immutable.
 */
final class T5Vocabulary {
    static final String PAD = "<pad>";
    static final String EOS = "</s>";
    static final String UNK = "<unk>";
    static final String WORD_START = "\u2581";
    private static final String CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789.,!?'\"-:;()&/";
    private static final double WORD_SCORE = -5.0;
    private static final double CHARACTER_SCORE = -10.0;

    private final List<Object[]> pieces;

    private T5Vocabulary(List<Object[]> pieces) {
        this.pieces = pieces;
    }

    static T5Vocabulary of(List<String> words) {
        List<Object[]> pieces = new ArrayList<>();
        pieces.add(new Object[] {PAD, 0.0});
        pieces.add(new Object[] {EOS, 0.0});
        pieces.add(new Object[] {UNK, 0.0});
        pieces.add(new Object[] {WORD_START, -3.0});
        for (char c : CHARACTERS.toCharArray()) {
            pieces.add(new Object[] {WORD_START + c, CHARACTER_SCORE});
            pieces.add(new Object[] {String.valueOf(c), CHARACTER_SCORE});
        }
        for (String w : words) {
            if (w.length() > 1) {
                pieces.add(new Object[] {WORD_START + w, WORD_SCORE});
            }
        }
        return new T5Vocabulary(List.copyOf(pieces));
    }

    int size() {
        return pieces.size();
    }

    /** Writes {@code tokenizer.json}, {@code special_tokens_map.json} and {@code tokenizer_config.json}. */
    void write(Path dir, int maxLength) throws IOException {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        root.put("added_tokens", List.of(added(0, PAD), added(1, EOS), added(2, UNK)));
        root.put("normalizer", map("type", "Sequence", "normalizers", List.of(
                map("type", "Replace", "pattern", map("Regex", " {2,}"), "content", " "),
                map("type", "Lowercase"))));
        Map<String, Object> metaspace = map("type", "Metaspace", "replacement", WORD_START,
                "prepend_scheme", "always", "split", true);
        root.put("pre_tokenizer", map("type", "Sequence", "pretokenizers",
                List.of(map("type", "WhitespaceSplit"), metaspace)));
        Map<String, Object> post = new LinkedHashMap<>();
        post.put("type", "TemplateProcessing");
        Map<String, Object> a = map("Sequence", map("id", "A", "type_id", 0));
        Map<String, Object> b = map("Sequence", map("id", "B", "type_id", 0));
        Map<String, Object> eos = map("SpecialToken", map("id", EOS, "type_id", 0));
        post.put("single", List.of(a, eos));
        post.put("pair", List.of(a, eos, b, eos));
        post.put("special_tokens", map(EOS, map("id", EOS, "ids", List.of(1), "tokens", List.of(EOS))));
        root.put("post_processor", post);
        root.put("decoder", metaspace);
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "Unigram");
        model.put("unk_id", 2);
        model.put("byte_fallback", false);
        model.put("vocab", pieces);
        root.put("model", model);
        Json.write(dir.resolve("tokenizer.json"), root);
        Json.write(dir.resolve("special_tokens_map.json"), map("eos_token", EOS, "pad_token", PAD, "unk_token", UNK));
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("eos_token", EOS);
        config.put("extra_ids", 0);
        config.put("model_max_length", maxLength);
        config.put("pad_token", PAD);
        config.put("tokenizer_class", "T5Tokenizer");
        config.put("unk_token", UNK);
        Json.write(dir.resolve("tokenizer_config.json"), config);
    }

    private static Map<String, Object> added(int id, String content) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("id", id);
        t.put("content", content);
        t.put("single_word", false);
        t.put("lstrip", false);
        t.put("rstrip", false);
        t.put("normalized", false);
        t.put("special", true);
        return t;
    }

    /** An ordered map of alternating keys and values. */
    private static Map<String, Object> map(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }
}
