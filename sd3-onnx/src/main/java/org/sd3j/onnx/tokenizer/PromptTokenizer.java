package org.sd3j.onnx.tokenizer;

import java.util.function.Function;

/**
 * Turns a prompt into the fixed-length id sequence a text encoder consumes.
 *
 * <p>Usable directly as the {@code Function<String, long[]>} tokenizer that
 * {@code OnnxClipEncoder} and {@code OnnxT5Encoder} accept. Implementations hold native memory (DJL
 * HuggingFace tokenizers): close them when done. Implementations are thread-safe.
 */
public interface PromptTokenizer extends Function<String, long[]>, AutoCloseable {

    /** Ids of a tokenized prompt and how many prompt tokens were dropped by truncation. */
    record Tokens(long[] ids, int dropped) {
    }

    /** Tokenizes {@code prompt}: the padded/truncated ids plus the count of dropped tokens. */
    Tokens tokenize(String prompt);

    /** The padded/truncated id sequence (length {@link #maxLength()}); logs a WARN when tokens were dropped. */
    default long[] ids(String prompt) {
        return tokenize(prompt).ids();
    }

    /** How many of the prompt's tokens do not fit and are dropped by {@link #ids(String)} (0 when it fits). */
    default int droppedTokens(String prompt) {
        return tokenize(prompt).dropped();
    }

    /** The length of every sequence {@link #ids(String)} returns, special tokens included. */
    int maxLength();

    /** The id used for padding. */
    long padId();

    @Override
    default long[] apply(String prompt) {
        return ids(prompt);
    }

    /** Releases the native tokenizer; idempotent. */
    @Override
    void close();
}
