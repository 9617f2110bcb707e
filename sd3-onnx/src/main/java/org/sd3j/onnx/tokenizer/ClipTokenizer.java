package org.sd3j.onnx.tokenizer;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.sd3j.ModelLoadException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CLIP BPE tokenizer loaded from an optimum/diffusers {@code tokenizer/} or {@code tokenizer_2/} folder
 * ({@code vocab.json}, {@code merges.txt}, {@code special_tokens_map.json}, optionally
 * {@code tokenizer_config.json}; no {@code tokenizer.json} needed).
 *
 * <p>DJL's BPE-from-files path tokenizes CLIP wrongly, so this class synthesizes the {@code tokenizer.json}
 * that HF transformers' {@code CLIPConverter} builds (BPE with {@code </w>} end-of-word suffix, NFC +
 * whitespace-collapse + lowercase normalizer, CLIP's split regex + byte-level pre-tokenizer, BOS/EOS
 * template) and loads it in memory through DJL, offline.
 *
 * <p>Every sequence is {@link #maxLength()} ids ({@value #MAX_LENGTH}, or the folder's
 * {@code tokenizer_config.json} {@code model_max_length} where that is shorter, for small models trained on shorter
 * sequences): {@code <|startoftext|>}, at most {@code maxLength - 2} (75) prompt tokens, {@code <|endoftext|>}, then
 * padding. The pad id comes from the folder's {@code pad_token} (SD3: CLIP-L
 * pads with the end token 49407, CLIP-G with {@code "!"} = 0) unless set on the {@link Builder}.
 *
 * <p>Long prompts: {@link LongPrompts#TRUNCATE} (default) drops the tokens past 75 and logs a WARN with the
 * count. {@link LongPrompts#CHUNK} makes {@link #ids(String)} return the concatenation of
 * {@link #chunks(String)}: {@code k * 77} ids, each 77-id piece carrying its own BOS/EOS and padding.
 * <b>Encoder contract for chunked ids</b>: split the ids into 77-id pieces, encode each, concatenate the
 * per-token features along the sequence axis, and take the pooled vector from the first piece
 * (as stable-diffusion.cpp does).
 */
public final class ClipTokenizer implements PromptTokenizer {
    /** CLIP's context length, special tokens included. */
    public static final int MAX_LENGTH = 77;
    /** Prompt tokens per sequence of the standard length (77 minus BOS and EOS). */
    public static final int BODY_LENGTH = MAX_LENGTH - 2;
    /** CLIP's pre-tokenizer split pattern (HF {@code CLIPConverter}). */
    static final String SPLIT_REGEX = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

    static final String VOCAB = "vocab.json";
    static final String MERGES = "merges.txt";
    static final String SPECIAL_TOKENS = "special_tokens_map.json";
    static final String CONFIG = "tokenizer_config.json";

    private static final Logger LOG = LoggerFactory.getLogger(ClipTokenizer.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What happens to prompts longer than 75 tokens. */
    public enum LongPrompts {
        /** Keep the first 75 tokens (and BOS/EOS), drop the rest, log a WARN with the count. */
        TRUNCATE,
        /** Encode in 77-id chunks; {@link #ids(String)} returns their concatenation. */
        CHUNK
    }

    private final Path folder;
    private final NativeTokenizer tokenizer;
    private final long bosId;
    private final long eosId;
    private final long padId;
    private final LongPrompts longPrompts;
    private final int maxLength;
    private final int bodyLength;

    private ClipTokenizer(Path folder, NativeTokenizer tokenizer, long bosId, long eosId, long padId,
                          LongPrompts longPrompts, int maxLength) {
        this.folder = folder;
        this.maxLength = maxLength;
        this.bodyLength = maxLength - 2;
        this.tokenizer = tokenizer;
        this.bosId = bosId;
        this.eosId = eosId;
        this.padId = padId;
        this.longPrompts = longPrompts;
    }

    /** Loads with the folder's pad token and truncation. */
    public static ClipTokenizer load(Path folder) {
        return builder(folder).build();
    }

    public static Builder builder(Path folder) {
        return new Builder(folder);
    }

    /** Options for {@link ClipTokenizer}. */
    public static final class Builder {
        private final Path folder;
        private Long padId;
        private boolean padWithEndToken;
        private LongPrompts longPrompts = LongPrompts.TRUNCATE;

        private Builder(Path folder) {
            this.folder = Objects.requireNonNull(folder, "folder");
        }

        /** Pads with this id (SD3 CLIP-G: 0) instead of the folder's pad token. */
        public Builder padId(long id) {
            if (id < 0) {
                throw new IllegalArgumentException("padId must be >= 0, found " + id);
            }
            this.padId = id;
            this.padWithEndToken = false;
            return this;
        }

        /** Pads with the end token (SD3 CLIP-L: 49407) instead of the folder's pad token. */
        public Builder padWithEndToken() {
            this.padId = null;
            this.padWithEndToken = true;
            return this;
        }

        public Builder longPrompts(LongPrompts mode) {
            this.longPrompts = Objects.requireNonNull(mode, "mode");
            return this;
        }

        public ClipTokenizer build() {
            return ClipTokenizer.open(this);
        }
    }

    private static ClipTokenizer open(Builder b) {
        Path folder = b.folder;
        DjlTokenizers.requireFiles(folder, "CLIP tokenizer", VOCAB, MERGES, SPECIAL_TOKENS);
        Map<String, Integer> vocab = readVocab(folder.resolve(VOCAB));
        JsonNode specials = readJson(folder.resolve(SPECIAL_TOKENS));
        JsonNode config = Files.isRegularFile(folder.resolve(CONFIG)) ? readJson(folder.resolve(CONFIG)) : null;

        String bos = tokenName(specials, config, "bos_token", "<|startoftext|>");
        String eos = tokenName(specials, config, "eos_token", "<|endoftext|>");
        String unk = tokenName(specials, config, "unk_token", eos);
        String pad = tokenName(specials, config, "pad_token", eos);
        List<String> missing = new ArrayList<>();
        for (String t : List.of(bos, eos)) {
            if (!vocab.containsKey(t)) {
                missing.add(t);
            }
        }
        if (!missing.isEmpty()) {
            List<String> found = new ArrayList<>();
            for (String t : List.of(bos, eos)) {
                if (vocab.containsKey(t)) {
                    found.add(t);
                }
            }
            throw new ModelLoadException(folder.resolve(VOCAB), "expected special tokens " + bos + " and " + eos
                    + " in the vocabulary, found " + (found.isEmpty() ? "neither" : "only " + found.get(0))
                    + " (" + vocab.size() + " entries)");
        }
        long bosId = vocab.get(bos);
        long eosId = vocab.get(eos);
        long padId;
        if (b.padId != null) {
            padId = b.padId;
        } else if (b.padWithEndToken) {
            padId = eosId;
        } else {
            Integer id = vocab.get(pad);
            if (id == null) {
                throw new ModelLoadException(folder.resolve(SPECIAL_TOKENS), "expected pad_token " + pad
                        + " to be in " + VOCAB + ", found no such entry");
            }
            padId = id;
        }
        if (!vocab.containsKey(unk)) {
            unk = eos;
        }
        List<String> merges = readMerges(folder.resolve(MERGES), vocab);
        String json = synthesizeTokenizerJson(vocab, merges, bos, eos, unk);
        NativeTokenizer tokenizer = new NativeTokenizer(folder, DjlTokenizers.load(json, folder));
        LOG.debug("Loaded CLIP tokenizer from {}: {} entries, {} merges, bos {}, eos {}, pad {}",
                folder, vocab.size(), merges.size(), bosId, eosId, padId);
        long configured = DjlTokenizers.modelMaxLength(folder).orElse(MAX_LENGTH);
        if (configured < 3) {
            throw new ModelLoadException(folder.resolve(CONFIG), "expected model_max_length of at least 3 (start, one"
                    + " token, end), found " + configured);
        }
        return new ClipTokenizer(folder, tokenizer, bosId, eosId, padId, b.longPrompts,
                (int) Math.min(MAX_LENGTH, configured));
    }

    @Override
    public Tokens tokenize(String prompt) {
        long[] body = promptTokens(prompt);
        if (longPrompts == LongPrompts.CHUNK) {
            long[][] chunks = chunksOf(body);
            long[] all = new long[chunks.length * maxLength];
            for (int i = 0; i < chunks.length; i++) {
                System.arraycopy(chunks[i], 0, all, i * maxLength, maxLength);
            }
            return new Tokens(all, 0);
        }
        int kept = Math.min(body.length, bodyLength);
        int dropped = body.length - kept;
        if (dropped > 0) {
            LOG.warn("CLIP prompt too long: {} of {} tokens dropped (limit {} per sequence plus start/end tokens);"
                    + " shorten the prompt or use LongPrompts.CHUNK", dropped, body.length, bodyLength);
            LOG.debug("Truncated prompt: {}", prompt);
        }
        return new Tokens(DjlTokenizers.assemble(bosId, body, 0, kept, eosId, padId, maxLength), dropped);
    }

    /**
     * The prompt in {@link #maxLength()}-id chunks of at most {@code maxLength - 2} prompt tokens each, every chunk {@code BOS body EOS pad...};
     * an empty prompt gives one chunk. Nothing is dropped.
     */
    public long[][] chunks(String prompt) {
        return chunksOf(promptTokens(prompt));
    }

    private long[][] chunksOf(long[] body) {
        int n = Math.max(1, (body.length + bodyLength - 1) / bodyLength);
        long[][] out = new long[n][];
        for (int i = 0; i < n; i++) {
            int from = i * bodyLength;
            int count = Math.min(bodyLength, body.length - from);
            out[i] = DjlTokenizers.assemble(bosId, body, from, count, eosId, padId, maxLength);
        }
        return out;
    }

    /** The prompt's token ids without BOS/EOS/padding, untruncated. */
    public long[] promptTokens(String prompt) {
        return tokenizer.encode(prompt).getIds();
    }

    /** The prompt's tokens as strings (byte-level pieces, {@code </w>} marking word ends), for debugging. */
    public List<String> tokens(String prompt) {
        return Arrays.asList(tokenizer.encode(prompt).getTokens());
    }

    @Override
    public int maxLength() {
        return maxLength;
    }

    @Override
    public long padId() {
        return padId;
    }

    /** The folder this tokenizer was loaded from. */
    public Path folder() {
        return folder;
    }

    public long bosId() {
        return bosId;
    }

    public long eosId() {
        return eosId;
    }

    public LongPrompts longPrompts() {
        return longPrompts;
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    // ---------------------------------------------------------------- tokenizer.json synthesis

    /**
     * The HuggingFace {@code tokenizer.json} that transformers' {@code CLIPConverter} produces for this
     * vocabulary: BPE ({@code continuing_subword_prefix ""}, {@code end_of_word_suffix "</w>"}), normalizer
     * NFC + {@code \s+ -> " "} + lowercase, pre-tokenizer Split(CLIP regex, removed, inverted) + ByteLevel
     * (no prefix space), post-processor {@code <bos> $A <eos>}, ByteLevel decoder.
     */
    static String synthesizeTokenizerJson(Map<String, Integer> vocab, List<String> merges,
                                          String bos, String eos, String unk) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        root.put("added_tokens", List.of(addedToken(vocab.get(bos), bos), addedToken(vocab.get(eos), eos)));
        root.put("normalizer", Map.of("type", "Sequence", "normalizers", List.of(
                Map.of("type", "NFC"),
                Map.of("type", "Replace", "pattern", Map.of("Regex", "\\s+"), "content", " "),
                Map.of("type", "Lowercase"))));
        Map<String, Object> split = new LinkedHashMap<>();
        split.put("type", "Split");
        split.put("pattern", Map.of("Regex", SPLIT_REGEX));
        split.put("behavior", "Removed");
        split.put("invert", true);
        Map<String, Object> byteLevel = new LinkedHashMap<>();
        byteLevel.put("type", "ByteLevel");
        byteLevel.put("add_prefix_space", false);
        byteLevel.put("trim_offsets", true);
        byteLevel.put("use_regex", false);
        root.put("pre_tokenizer", Map.of("type", "Sequence", "pretokenizers", List.of(split, byteLevel)));
        Map<String, Object> post = new LinkedHashMap<>();
        post.put("type", "TemplateProcessing");
        post.put("single", List.of(special(bos), sequence("A", 0), special(eos)));
        post.put("pair", List.of(special(bos), sequence("A", 0), special(eos), sequence("B", 1), special(eos)));
        Map<String, Object> specialTokens = new LinkedHashMap<>();
        specialTokens.put(bos, Map.of("id", bos, "ids", List.of(vocab.get(bos)), "tokens", List.of(bos)));
        specialTokens.put(eos, Map.of("id", eos, "ids", List.of(vocab.get(eos)), "tokens", List.of(eos)));
        post.put("special_tokens", specialTokens);
        root.put("post_processor", post);
        Map<String, Object> decoder = new LinkedHashMap<>();
        decoder.put("type", "ByteLevel");
        decoder.put("add_prefix_space", false);
        decoder.put("trim_offsets", true);
        decoder.put("use_regex", false);
        root.put("decoder", decoder);
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("dropout", null);
        model.put("unk_token", unk);
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", "</w>");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("vocab", vocab);
        model.put("merges", merges);
        root.put("model", model);
        try {
            return JSON.writeValueAsString(root);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialize tokenizer.json", e);
        }
    }

    private static Map<String, Object> addedToken(int id, String content) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("id", id);
        t.put("content", content);
        t.put("single_word", false);
        t.put("lstrip", false);
        t.put("rstrip", false);
        t.put("normalized", true);
        t.put("special", true);
        return t;
    }

    private static Map<String, Object> special(String token) {
        return Map.of("SpecialToken", Map.of("id", token, "type_id", 0));
    }

    private static Map<String, Object> sequence(String id, int typeId) {
        return Map.of("Sequence", Map.of("id", id, "type_id", typeId));
    }

    // ---------------------------------------------------------------- file reading

    private static Map<String, Integer> readVocab(Path file) {
        try {
            Map<String, Integer> vocab = JSON.readValue(file.toFile(), new TypeReference<LinkedHashMap<String, Integer>>() {
            });
            if (vocab == null || vocab.isEmpty()) {
                throw new ModelLoadException(file, "expected a JSON object of token -> id, found an empty vocabulary");
            }
            return vocab;
        } catch (IOException e) {
            throw new ModelLoadException(file, "expected a JSON object of token -> id, found: " + e.getMessage(), e);
        }
    }

    private static JsonNode readJson(Path file) {
        try {
            JsonNode node = JSON.readTree(file.toFile());
            if (node == null || !node.isObject()) {
                throw new ModelLoadException(file, "expected a JSON object, found " + (node == null ? "nothing" : node.getNodeType()));
            }
            return node;
        } catch (IOException e) {
            throw new ModelLoadException(file, "expected a JSON object, found: " + e.getMessage(), e);
        }
    }

    /** A token from special_tokens_map.json (string or {"content": ...}), then tokenizer_config.json, else the default. */
    private static String tokenName(JsonNode specials, JsonNode config, String key, String fallback) {
        for (JsonNode node : new JsonNode[] {specials, config}) {
            if (node == null) {
                continue;
            }
            JsonNode v = node.get(key);
            if (v != null && v.isTextual()) {
                return v.asText();
            }
            if (v != null && v.isObject() && v.hasNonNull("content")) {
                return v.get("content").asText();
            }
        }
        return fallback;
    }

    /**
     * Merges in rank order; skips the {@code #version} header and blank lines, and (like transformers'
     * slow tokenizer, which reads only the first {@code vocab - 258} merges) drops merges whose parts or
     * result are not in the vocabulary, since the BPE model rejects them.
     */
    private static List<String> readMerges(Path file, Map<String, Integer> vocab) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ModelLoadException(file, "expected UTF-8 merge rules, found: " + e.getMessage(), e);
        }
        List<String> merges = new ArrayList<>(lines.size());
        int skipped = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || (i == 0 && line.startsWith("#version"))) {
                continue;
            }
            String[] parts = line.split(" ");
            if (parts.length != 2) {
                throw new ModelLoadException(file, "expected two space-separated tokens per line, found line "
                        + (i + 1) + " with " + parts.length);
            }
            if (vocab.containsKey(parts[0]) && vocab.containsKey(parts[1]) && vocab.containsKey(parts[0] + parts[1])) {
                merges.add(parts[0] + " " + parts[1]);
            } else {
                skipped++;
            }
        }
        if (skipped > 0) {
            LOG.debug("{}: skipped {} merges whose tokens are not in {}", file, skipped, VOCAB);
        }
        return merges;
    }
}
