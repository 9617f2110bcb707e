package org.sd3j.onnx.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small CLIP-structured vocabulary, laid out as OpenAI CLIP's: ids 0..255 are the byte-level characters in
 * GPT-2's {@code bytes_to_unicode} order, 256..511 the same with {@code </w>}, then one entry per merge, then
 * {@code <|startoftext|>} and {@code <|endoftext|>}. Ids are derived by hand in the tests from this layout.
 */
public final class SyntheticClipVocab {
    static final String[] MERGES = {
        "h e",        // 512 he
        "l l",        // 513 ll
        "he ll",      // 514 hell
        "hell o</w>", // 515 hello</w>
        "w o",        // 516 wo
        "r l",        // 517 rl
        "rl d</w>",   // 518 rld</w>
        "wo rld</w>", // 519 world</w>
        "c a",        // 520 ca
        "ca t</w>",   // 521 cat</w>
    };
    static final int HE = 512;
    static final int HELLO_W = 515;
    static final int WORLD_W = 519;
    static final int CAT_W = 521;
    static final int BOS = 522;
    static final int EOS = 523;
    static final int END_OF_WORD = 256;

    private SyntheticClipVocab() {
    }

    /** GPT-2's bytes_to_unicode, in insertion order: element i is the character for vocab id i. */
    static List<String> byteChars() {
        List<Integer> bs = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            bs.add(b);
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            bs.add(b);
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            bs.add(b);
        }
        List<Integer> cs = new ArrayList<>(bs);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (!bs.contains(b)) {
                bs.add(b);
                cs.add(256 + n++);
            }
        }
        List<String> chars = new ArrayList<>();
        for (int c : cs) {
            chars.add(new String(Character.toChars(c)));
        }
        return chars;
    }

    /** Id of the single byte-level piece for byte {@code b} (not at a word end). */
    static int byteId(int b) {
        if (b >= '!' && b <= '~') {
            return b - '!';
        }
        if (b >= 0xA1 && b <= 0xAC) {
            return 94 + b - 0xA1;
        }
        if (b >= 0xAE) {
            return 106 + b - 0xAE;
        }
        throw new IllegalArgumentException("not needed in these tests: " + b);
    }

    static Map<String, Integer> vocab(boolean withSpecials) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        List<String> chars = byteChars();
        for (String c : chars) {
            vocab.put(c, vocab.size());
        }
        for (String c : chars) {
            vocab.put(c + "</w>", vocab.size());
        }
        for (String m : MERGES) {
            vocab.put(m.replace(" ", ""), vocab.size());
        }
        if (withSpecials) {
            vocab.put("<|startoftext|>", vocab.size());
            vocab.put("<|endoftext|>", vocab.size());
        }
        return vocab;
    }

    /** Writes vocab.json, merges.txt, special_tokens_map.json (pad token {@code padToken}) into {@code dir}. */
    public static Path write(Path dir, String padToken, boolean withSpecials) throws IOException {
        Files.createDirectories(dir);
        StringBuilder json = new StringBuilder("{");
        for (Map.Entry<String, Integer> e : vocab(withSpecials).entrySet()) {
            json.append(json.length() > 1 ? "," : "").append('"').append(escape(e.getKey())).append("\":").append(e.getValue());
        }
        json.append('}');
        Files.writeString(dir.resolve("vocab.json"), json, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n" + String.join("\n", MERGES) + "\n",
                StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("special_tokens_map.json"), """
                {"bos_token": {"content": "<|startoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
                 "eos_token": {"content": "<|endoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false},
                 "pad_token": "%s",
                 "unk_token": {"content": "<|endoftext|>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false}}
                """.formatted(padToken), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"do_lower_case": true, "model_max_length": 77, "tokenizer_class": "CLIPTokenizer"}
                """, StandardCharsets.UTF_8);
        return dir;
    }

    private static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
