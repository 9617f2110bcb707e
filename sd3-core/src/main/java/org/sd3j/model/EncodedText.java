package org.sd3j.model;

import java.util.Optional;

import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * One text encoder's output for a batch of prompts.
 *
 * @param tokens per-token features {@code [B, S, D]} (for CLIP: the penultimate hidden state)
 * @param pooled pooled vector {@code [B, P]} for CLIP-kind encoders, {@code null} otherwise
 */
public record EncodedText(Tensor tokens, Tensor pooled) {
    public EncodedText {
        Checks.notNull(tokens, "tokens");
        if (tokens.rank() != 3) {
            throw Checks.fail("tokens", "of rank 3 [B, S, D]", tokens);
        }
        if (pooled != null && (pooled.rank() != 2 || pooled.dim(0) != tokens.dim(0))) {
            throw Checks.fail("pooled", "[" + tokens.dim(0) + ", P]", pooled);
        }
    }

    /** Per-token features without a pooled vector. */
    public static EncodedText of(Tensor tokens) {
        return new EncodedText(tokens, null);
    }

    public Optional<Tensor> pooledVector() {
        return Optional.ofNullable(pooled);
    }

    public int batchSize() {
        return tokens.dim(0);
    }
}
