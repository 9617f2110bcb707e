package org.sd3j.onnx.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.OptionalLong;
import org.sd3j.ModelLoadException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * T5 tokenizer from a HuggingFace {@code tokenizer.json} (diffusers/optimum {@code tokenizer_3/}), loaded
 * through DJL offline. Sequences are the prompt's tokens, truncated to {@code maxLength - 1}, then
 * {@code </s>} (id 1 in T5), then padding with {@code <pad>} (id 0; 0 when the vocabulary has no
 * {@code <pad>}) up to {@code maxLength} ({@value #DEFAULT_MAX_LENGTH} by default, at most
 * {@value #MAX_MAX_LENGTH}), as diffusers' {@code max_sequence_length}.
 */
public final class T5Tokenizer implements PromptTokenizer {
    public static final int DEFAULT_MAX_LENGTH = 256;
    public static final int MAX_MAX_LENGTH = 512;
    static final String TOKENIZER_JSON = "tokenizer.json";
    static final String EOS = "</s>";
    static final String PAD = "<pad>";

    private static final Logger LOG = LoggerFactory.getLogger(T5Tokenizer.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path source;
    private final NativeTokenizer tokenizer;
    private final int maxLength;
    private final long eosId;
    private final long padId;

    private T5Tokenizer(Path source, NativeTokenizer tokenizer, int maxLength, long eosId, long padId) {
        this.source = source;
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.eosId = eosId;
        this.padId = padId;
    }

    /**
     * Loads from a folder holding {@code tokenizer.json}, or that file itself, with max length 256 (diffusers'
     * default), or the folder's {@code tokenizer_config.json} {@code model_max_length} where that is shorter: a
     * model trained on shorter sequences says so there (SD3's own T5 tokenizer says 512).
     */
    public static T5Tokenizer load(Path folderOrFile) {
        int length = DEFAULT_MAX_LENGTH;
        if (Files.isDirectory(folderOrFile)) {
            length = (int) Math.min(length, DjlTokenizers.modelMaxLength(folderOrFile).orElse(length));
        }
        return load(folderOrFile, length);
    }

    /** Loads with {@code maxLength} in [1, 512] (diffusers' {@code max_sequence_length}). */
    public static T5Tokenizer load(Path folderOrFile, int maxLength) {
        Objects.requireNonNull(folderOrFile, "folderOrFile");
        if (maxLength < 1 || maxLength > MAX_MAX_LENGTH) {
            throw new IllegalArgumentException("maxLength must be in [1, " + MAX_MAX_LENGTH + "], found " + maxLength);
        }
        Path file = folderOrFile;
        if (!Files.isRegularFile(folderOrFile)) {
            DjlTokenizers.requireFiles(folderOrFile, "T5 tokenizer", TOKENIZER_JSON);
            file = folderOrFile.resolve(TOKENIZER_JSON);
        }
        String json;
        JsonNode root;
        try {
            json = Files.readString(file, StandardCharsets.UTF_8);
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new ModelLoadException(file, "expected a HuggingFace tokenizer.json, found: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject() || !root.has("model")) {
            throw new ModelLoadException(file, "expected a HuggingFace tokenizer.json with a \"model\", found "
                    + (root == null ? "nothing" : "keys " + iterable(root)));
        }
        OptionalLong eos = tokenId(root, EOS);
        if (eos.isEmpty()) {
            throw new ModelLoadException(file, "expected the end token " + EOS + " in the vocabulary, found none ("
                    + vocabSize(root) + " entries)");
        }
        long padId = tokenId(root, PAD).orElse(0);
        NativeTokenizer tokenizer = new NativeTokenizer(file, DjlTokenizers.load(json, file));
        LOG.debug("Loaded T5 tokenizer from {}: eos {}, pad {}, max length {}", file, eos.getAsLong(), padId, maxLength);
        return new T5Tokenizer(file, tokenizer, maxLength, eos.getAsLong(), padId);
    }

    @Override
    public Tokens tokenize(String prompt) {
        long[] body = promptTokens(prompt);
        int kept = Math.min(body.length, maxLength - 1);
        int dropped = body.length - kept;
        if (dropped > 0) {
            LOG.warn("T5 prompt too long: {} of {} tokens dropped (limit {} plus the end token); shorten the prompt"
                    + " or raise max_sequence_length (at most {})", dropped, body.length, maxLength - 1, MAX_MAX_LENGTH);
            LOG.debug("Truncated prompt: {}", prompt);
        }
        return new Tokens(DjlTokenizers.assemble(-1, body, 0, kept, eosId, padId, maxLength), dropped);
    }

    /** The prompt's token ids without {@code </s>} or padding, untruncated. */
    public long[] promptTokens(String prompt) {
        return tokenizer.encode(prompt).getIds();
    }

    @Override
    public int maxLength() {
        return maxLength;
    }

    @Override
    public long padId() {
        return padId;
    }

    /** The tokenizer.json this tokenizer was loaded from. */
    public Path source() {
        return source;
    }

    public long eosId() {
        return eosId;
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    /** Id of {@code token}: from added_tokens, else the model vocabulary (Unigram list, or BPE/WordPiece map). */
    static OptionalLong tokenId(JsonNode root, String token) {
        JsonNode added = root.get("added_tokens");
        if (added != null && added.isArray()) {
            for (JsonNode t : added) {
                if (token.equals(t.path("content").asText(null)) && t.has("id")) {
                    return OptionalLong.of(t.get("id").asLong());
                }
            }
        }
        JsonNode vocab = root.path("model").get("vocab");
        if (vocab != null && vocab.isArray()) {
            for (int i = 0; i < vocab.size(); i++) {
                JsonNode entry = vocab.get(i);
                if (entry.isArray() && entry.size() > 0 && token.equals(entry.get(0).asText())) {
                    return OptionalLong.of(i);
                }
            }
        } else if (vocab != null && vocab.isObject() && vocab.has(token)) {
            return OptionalLong.of(vocab.get(token).asLong());
        }
        return OptionalLong.empty();
    }

    private static int vocabSize(JsonNode root) {
        JsonNode vocab = root.path("model").get("vocab");
        return vocab == null ? 0 : vocab.size();
    }

    private static String iterable(JsonNode node) {
        StringBuilder sb = new StringBuilder("[");
        node.fieldNames().forEachRemaining(n -> sb.append(sb.length() > 1 ? ", " : "").append(n));
        return sb.append(']').toString();
    }
}
