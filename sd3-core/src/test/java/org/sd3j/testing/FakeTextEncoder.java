package org.sd3j.testing;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.sd3j.tensor.Tensor;

/**
 * A {@link TextEncoder} for tests: deterministic pseudo-random features computed from the prompt text, of
 * configurable role and size, that records every batch of prompts it is asked to encode.
 *
 * <p>Features: for each prompt, element {@code i} of the per-token features {@code [S, D]} and of the pooled
 * vector {@code [P]} is a float in {@code [-1, -0.05] ∪ [0.05, 1]} derived from a 64-bit hash of the role's
 * name, the prompt's UTF-8 bytes and {@code i}. So:
 * <ul>
 *   <li>the same role and prompt always give bit-identical features, on every JVM;</li>
 *   <li>different prompts (and different roles) give different features;</li>
 *   <li>no value is ever 0, so an encoder that ran is always distinguishable from a missing one (zeros), and
 *       the empty prompt {@code ""} gives non-zero features like any other text.</li>
 * </ul>
 * {@link #tokensFor(String)} and {@link #pooledFor(String)} return the features a prompt encodes to, so tests
 * can predict the assembled conditioning.
 *
 * <pre>{@code
 * FakeTextEncoder clipL = FakeTextEncoder.clipL();           // SD3's CLIP-L: 77 x 768, pooled 768
 * FakeTextEncoder t5 = FakeTextEncoder.t5();                 // SD3's T5: 256 x 4096
 * Sd3Pipeline pipeline = Sd3Pipeline.builder().encoders(clipL, t5)...build();
 * pipeline.generate("a red fox");
 * assertThat(t5.prompts()).containsExactly("a red fox", "");  // positive, then the (empty) negative prompt
 *
 * // Small sizes for fast tests: one encoder per slot of a custom layout.
 * ConditioningLayout small = ConditioningLayout.builder()
 *         .slot(EncoderRole.CLIP_L, 5, 8, 8).slot(EncoderRole.T5, 7, 16, 0).contextDim(16).build();
 * Sd3Pipeline.builder().layout(small).encoders(FakeTextEncoder.forLayout(small))...
 * }</pre>
 *
 * <p>Thread-safe: encoding is stateless apart from the call record, which is synchronized.
 */
public final class FakeTextEncoder implements TextEncoder {
    private static final int TOKEN_STREAM = 0;
    private static final int POOLED_STREAM = 1;

    private final EncoderRole role;
    private final int tokens;
    private final int features;
    private final int pooled;
    private final List<List<String>> calls = new ArrayList<>();

    private FakeTextEncoder(EncoderRole role, int tokens, int features, int pooled) {
        if (role == null) {
            throw new IllegalArgumentException("role must be non-null, found null");
        }
        if (tokens < 1) {
            throw new IllegalArgumentException("tokens must be >= 1, found " + tokens);
        }
        if (features < 1) {
            throw new IllegalArgumentException("features must be >= 1, found " + features);
        }
        if (role.kind() == EncoderRole.Kind.CLIP && pooled < 1) {
            throw new IllegalArgumentException("pooled must be >= 1 for the CLIP role " + role + ", found " + pooled);
        }
        if (role.kind() == EncoderRole.Kind.SEQUENCE && pooled != 0) {
            throw new IllegalArgumentException("pooled must be 0 for the sequence role " + role + ", found " + pooled);
        }
        this.role = role;
        this.tokens = tokens;
        this.features = features;
        this.pooled = pooled;
    }

    /**
     * An encoder for {@code role} producing {@code [B, tokens, features]} per-token features and, for CLIP-kind
     * roles, {@code [B, pooled]} pooled vectors.
     *
     * @param pooled pooled width: {@code >= 1} for {@link EncoderRole.Kind#CLIP} roles, 0 for sequence roles
     * @throws IllegalArgumentException for a null role, non-positive sizes or a pooled width that does not fit
     *                                  the role's kind
     */
    public static FakeTextEncoder of(EncoderRole role, int tokens, int features, int pooled) {
        return new FakeTextEncoder(role, tokens, features, pooled);
    }

    /** An encoder shaped like a layout slot (its role, token count, feature and pooled widths). */
    public static FakeTextEncoder forSlot(ConditioningLayout.Slot slot) {
        if (slot == null) {
            throw new IllegalArgumentException("slot must be non-null, found null");
        }
        return new FakeTextEncoder(slot.role(), slot.tokens(), slot.features(), slot.pooled());
    }

    /** One encoder per slot of {@code layout}, in slot order. */
    public static FakeTextEncoder[] forLayout(ConditioningLayout layout) {
        if (layout == null) {
            throw new IllegalArgumentException("layout must be non-null, found null");
        }
        return layout.slots().stream().map(FakeTextEncoder::forSlot).toArray(FakeTextEncoder[]::new);
    }

    /** SD3's CLIP-L shape: 77 tokens x 768 features, pooled 768. */
    public static FakeTextEncoder clipL() {
        return of(EncoderRole.CLIP_L, 77, 768, 768);
    }

    /** SD3's CLIP-G shape: 77 tokens x 1280 features, pooled 1280. */
    public static FakeTextEncoder clipG() {
        return of(EncoderRole.CLIP_G, 77, 1280, 1280);
    }

    /** SD3's T5-XXL shape: 256 tokens x 4096 features, no pooled vector. */
    public static FakeTextEncoder t5() {
        return of(EncoderRole.T5, 256, 4096, 0);
    }

    @Override
    public EncoderRole role() {
        return role;
    }

    /** Token count S of the per-token features. */
    public int tokens() {
        return tokens;
    }

    /** Feature width D of the per-token features. */
    public int features() {
        return features;
    }

    /** Pooled width P (0 for sequence roles). */
    public int pooled() {
        return pooled;
    }

    /**
     * Encodes each prompt independently: item {@code b} of the result equals {@link #tokensFor(String)} (and
     * {@link #pooledFor(String)}) of {@code prompts.get(b)}. Records the batch first.
     *
     * @throws IllegalArgumentException when {@code prompts} is null, empty or holds a null
     */
    @Override
    public EncodedText encode(List<String> prompts) {
        if (prompts == null || prompts.isEmpty()) {
            throw new IllegalArgumentException("prompts must be non-empty, found " + prompts);
        }
        for (int i = 0; i < prompts.size(); i++) {
            if (prompts.get(i) == null) {
                throw new IllegalArgumentException("prompts[" + i + "] must be non-null, found null");
            }
        }
        List<String> batch = List.copyOf(prompts);
        synchronized (calls) {
            calls.add(batch);
        }
        int b = batch.size();
        Tensor tokenOut = Tensor.zeros(b, tokens, features);
        Tensor pooledOut = pooled > 0 ? Tensor.zeros(b, pooled) : null;
        for (int i = 0; i < b; i++) {
            fill(tokenOut, i * tokens * features, tokens * features, batch.get(i), TOKEN_STREAM);
            if (pooledOut != null) {
                fill(pooledOut, i * pooled, pooled, batch.get(i), POOLED_STREAM);
            }
        }
        return new EncodedText(tokenOut, pooledOut);
    }

    /** The per-token features {@code [1, S, D]} that {@code prompt} encodes to. Does not record a call. */
    public Tensor tokensFor(String prompt) {
        Tensor t = Tensor.zeros(1, tokens, features);
        fill(t, 0, tokens * features, requirePrompt(prompt), TOKEN_STREAM);
        return t;
    }

    /**
     * The pooled vector {@code [1, P]} that {@code prompt} encodes to. Does not record a call.
     *
     * @throws IllegalStateException for a sequence role, which has no pooled vector
     */
    public Tensor pooledFor(String prompt) {
        if (pooled == 0) {
            throw new IllegalStateException("The sequence role " + role + " has no pooled vector");
        }
        Tensor t = Tensor.zeros(1, pooled);
        fill(t, 0, pooled, requirePrompt(prompt), POOLED_STREAM);
        return t;
    }

    /** Every prompt encoded so far, flattened over the calls in call order. */
    public List<String> prompts() {
        synchronized (calls) {
            return calls.stream().flatMap(List::stream).toList();
        }
    }

    /** The batches of prompts of every {@link #encode} call so far, in call order. */
    public List<List<String>> calls() {
        synchronized (calls) {
            return List.copyOf(calls);
        }
    }

    /** Number of {@link #encode} calls so far. */
    public int callCount() {
        synchronized (calls) {
            return calls.size();
        }
    }

    /** Forgets the recorded calls. */
    public void reset() {
        synchronized (calls) {
            calls.clear();
        }
    }

    @Override
    public String toString() {
        return "FakeTextEncoder[" + role + ", " + tokens + "x" + features + ", pooled " + pooled + "]";
    }

    private static String requirePrompt(String prompt) {
        if (prompt == null) {
            throw new IllegalArgumentException("prompt must be non-null, found null");
        }
        return prompt;
    }

    private void fill(Tensor target, int offset, int count, String prompt, int stream) {
        long base = hash(role.name(), prompt) ^ (stream * 0x9E3779B97F4A7C15L);
        for (int i = 0; i < count; i++) {
            target.set(offset + i, value(base, i));
        }
    }

    /** A float in [-1, -0.05] or [0.05, 1], never 0. */
    private static float value(long base, int index) {
        long z = mix(base + (index + 1) * 0xD1B54A32D192ED03L);
        float magnitude = 0.05f + 0.95f * ((z >>> 40) / (float) (1 << 24));
        return (z & 1) == 0 ? magnitude : -magnitude;
    }

    /** FNV-1a 64 over the role name, a separator and the prompt's UTF-8 bytes. */
    private static long hash(String roleName, String prompt) {
        long h = 0xcbf29ce484222325L;
        for (byte b : (roleName + '\u0000' + prompt).getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return mix(h);
    }

    /** SplitMix64's finalizer. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
