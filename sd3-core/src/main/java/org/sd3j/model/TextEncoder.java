package org.sd3j.model;

import java.util.List;

/**
 * A frozen text encoder: prompts in, per-token features (and a pooled vector for CLIP-kind roles) out.
 * Tokenization, padding and truncation belong to the implementation.
 *
 * <p>Implementations must accept concurrent calls. The returned tensors belong to the caller.
 */
public interface TextEncoder {

    /** The conditioning slot this encoder fills. */
    EncoderRole role();

    /**
     * Encodes a batch of prompts.
     *
     * @param prompts B prompts (an empty string is encoded normally, never replaced by zeros)
     * @return tokens {@code [B, S, D]} and, for {@link EncoderRole.Kind#CLIP} roles, pooled {@code [B, P]}
     */
    EncodedText encode(List<String> prompts);
}
