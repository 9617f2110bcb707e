package org.sd3j;

/** How classifier-free guidance runs its negative and positive halves. */
public enum GuidanceBatching {
    /** One denoiser call on a batch of {@code 2B}, {@code [negative, positive]} (diffusers; fastest). */
    BATCHED,
    /**
     * Two calls on batches of {@code B}, negative then positive: about half the activation memory of
     * {@link #BATCHED}, the same result up to float rounding.
     */
    SEQUENTIAL
}
