package org.sd3j.examples.defaultmodel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small CLIP BPE vocabulary in OpenAI CLIP's layout: ids 0..255 are the byte-level characters in GPT-2's
 * {@code bytes_to_unicode} order, 256..511 the same with {@code </w>}, then one entry per merge (in merge order),
 * then {@code <|startoftext|>} and {@code <|endoftext|>} (the largest id, which SD3's pooled-token lookup
 * {@code argmax(input_ids)} relies on).
 *
 * <p>Merges are learned from a word list rather than a corpus: each word is tokenized with the merges so far and,
 * while it is still more than one token, a merge of its two leftmost tokens is appended. Merges appended for later
 * words rank lower, so they never change an earlier word's tokenization: every listed word ends up as one token.
 * Immutable.
 */
final class ClipVocabulary {
    static final String BOS = "<|startoftext|>";
    static final String EOS = "<|endoftext|>";
    static final String END_OF_WORD = "</w>";

    private final Map<String, Integer> vocab;
    private final List<String> merges;

    private ClipVocabulary(Map<String, Integer> vocab, List<String> merges) {
        this.vocab = vocab;
        this.merges = merges;
    }

    /** Learns merges for {@code words} (lowercase ASCII letters). */
    static ClipVocabulary learn(List<String> words) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        List<String> chars = byteChars();
        for (String c : chars) {
            vocab.put(c, vocab.size());
        }
        for (String c : chars) {
            vocab.put(c + END_OF_WORD, vocab.size());
        }
        List<String> merges = new ArrayList<>();
        Map<String, Integer> ranks = new HashMap<>();
        for (String word : words) {
            if (!word.matches("[a-z]+")) {
                throw new IllegalArgumentException("words must be lowercase ASCII letters, found '" + word + "'");
            }
            List<String> tokens = bpe(word, ranks);
            while (tokens.size() > 1) {
                String merge = tokens.get(0) + " " + tokens.get(1);
                ranks.put(merge, merges.size());
                merges.add(merge);
                // Two merges can produce the same string ("re d" and "r ed"): the token keeps its first id.
                vocab.putIfAbsent(tokens.get(0) + tokens.get(1), vocab.size());
                tokens = bpe(word, ranks);
            }
        }
        vocab.put(BOS, vocab.size());
        vocab.put(EOS, vocab.size());
        return new ClipVocabulary(vocab, List.copyOf(merges));
    }

    /**
     * OpenAI CLIP's {@code bpe()}: the word's characters (the last with {@code </w>}), then repeatedly every
     * occurrence of the best-ranked adjacent pair merged, until no adjacent pair has a merge.
     */
    static List<String> bpe(String word, Map<String, Integer> ranks) {
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < word.length() - 1; i++) {
            tokens.add(String.valueOf(word.charAt(i)));
        }
        tokens.add(word.charAt(word.length() - 1) + END_OF_WORD);
        while (tokens.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            int best = -1;
            for (int i = 0; i + 1 < tokens.size(); i++) {
                Integer r = ranks.get(tokens.get(i) + " " + tokens.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            String first = tokens.get(best);
            String second = tokens.get(best + 1);
            List<String> merged = new ArrayList<>();
            for (int i = 0; i < tokens.size(); i++) {
                if (i + 1 < tokens.size() && tokens.get(i).equals(first) && tokens.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i++;
                } else {
                    merged.add(tokens.get(i));
                }
            }
            tokens = merged;
        }
        return tokens;
    }

    /** Token -> id, in id order. */
    Map<String, Integer> vocab() {
        return Collections.unmodifiableMap(vocab);
    }

    /** Merges in rank order, each {@code "left right"}. */
    List<String> merges() {
        return merges;
    }

    int size() {
        return vocab.size();
    }

    /**
     * Writes a diffusers {@code tokenizer/} folder: {@code vocab.json}, {@code merges.txt},
     * {@code special_tokens_map.json}, {@code tokenizer_config.json}.
     *
     * @param padToken the pad token (SD3: CLIP-L pads with {@code <|endoftext|>}, CLIP-G with {@code "!"})
     */
    void write(Path dir, String padToken, int maxLength) throws IOException {
        Files.createDirectories(dir);
        Json.write(dir.resolve("vocab.json"), vocab);
        StringBuilder m = new StringBuilder("#version: 0.2\n");
        for (String merge : merges) {
            m.append(merge).append('\n');
        }
        Files.writeString(dir.resolve("merges.txt"), m, StandardCharsets.UTF_8);
        Map<String, Object> specials = new LinkedHashMap<>();
        specials.put("bos_token", token(BOS));
        specials.put("eos_token", token(EOS));
        specials.put("pad_token", padToken);
        specials.put("unk_token", token(EOS));
        Json.write(dir.resolve("special_tokens_map.json"), specials);
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("add_prefix_space", false);
        config.put("bos_token", BOS);
        config.put("clean_up_tokenization_spaces", true);
        config.put("do_lower_case", true);
        config.put("eos_token", EOS);
        config.put("errors", "replace");
        config.put("model_max_length", maxLength);
        config.put("pad_token", padToken);
        config.put("tokenizer_class", "CLIPTokenizer");
        config.put("unk_token", EOS);
        Json.write(dir.resolve("tokenizer_config.json"), config);
    }

    private static Map<String, Object> token(String content) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("content", content);
        t.put("lstrip", false);
        t.put("normalized", true);
        t.put("rstrip", false);
        t.put("single_word", false);
        return t;
    }

    /** GPT-2's {@code bytes_to_unicode}, in insertion order: element i is the character of vocabulary id i. */
    static List<String> byteChars() {
        List<Integer> bytes = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            bytes.add(b);
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            bytes.add(b);
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            bytes.add(b);
        }
        List<Integer> codePoints = new ArrayList<>(bytes);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (!bytes.contains(b)) {
                bytes.add(b);
                codePoints.add(256 + n++);
            }
        }
        List<String> chars = new ArrayList<>();
        for (int c : codePoints) {
            chars.add(new String(Character.toChars(c)));
        }
        return chars;
    }
}
