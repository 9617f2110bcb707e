package org.sd3j.conditioning;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.BackendException;
import org.sd3j.internal.Checks;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.sd3j.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Assembles SD3 conditioning from whichever text encoders exist (SPEC §3):
 * <pre>
 *   clip    = concat_features(CLIP-L [B,77,768], CLIP-G [B,77,1280])  -> [B,77,2048], zero-padded to [B,77,4096]
 *   context = concat_sequence(clip, T5 [B,256,4096])                   -> [B,333,4096]
 *   pooled  = concat(CLIP-L pooled [B,768], CLIP-G pooled [B,1280])      -> [B,2048]
 * </pre>
 * A missing encoder contributes zeros of its slot's shape, which is how SD3 was trained to work with any subset.
 *
 * <p>Immutable and thread-safe when the encoders are; it borrows the encoders and never closes them.
 */
public final class PromptEncoder {
    private static final Logger LOG = LoggerFactory.getLogger(PromptEncoder.class);

    private final ConditioningLayout layout;
    private final Map<EncoderRole, TextEncoder> encoders;

    /**
     * @throws IllegalArgumentException when an encoder's role is not in the layout or two encoders share a role
     */
    public PromptEncoder(ConditioningLayout layout, List<? extends TextEncoder> encoders) {
        this.layout = Checks.notNull(layout, "layout");
        Checks.notNull(encoders, "encoders");
        Map<EncoderRole, TextEncoder> byRole = new LinkedHashMap<>();
        for (TextEncoder e : encoders) {
            Checks.notNull(e, "encoders[i]");
            EncoderRole role = Checks.notNull(e.role(), "role() of " + e);
            if (layout.slot(role).isEmpty()) {
                throw Checks.fail("encoder role", "one of the layout's " + layout.roleNames(), role);
            }
            if (byRole.putIfAbsent(role, e) != null) {
                throw Checks.fail("encoders", "one per role", "two for " + role);
            }
        }
        this.encoders = Collections.unmodifiableMap(byRole);
    }

    public ConditioningLayout layout() {
        return layout;
    }

    /** The encoders by role, in the order given. */
    public Map<EncoderRole, TextEncoder> encoders() {
        return encoders;
    }

    /** Conditioning for a batch of prompts, every encoder seeing the same prompts. */
    public Conditioning encode(List<String> prompts) {
        return encode(prompts, Map.of());
    }

    /**
     * Conditioning for a batch of prompts, with per-encoder prompt overrides (e.g. a longer prompt for T5).
     *
     * @param overrides role -> prompts replacing {@code prompts} for that encoder, each of the same batch size
     * @return context {@code [B, S, contextDim]} and pooled {@code [B, pooledDim]}
     */
    public Conditioning encode(List<String> prompts, Map<EncoderRole, List<String>> overrides) {
        Checks.notNull(prompts, "prompts");
        Checks.notNull(overrides, "overrides");
        int batch = prompts.size();
        Checks.atLeast(batch, 1, "prompts.size()");
        for (int i = 0; i < batch; i++) {
            Checks.notNull(prompts.get(i), "prompts[" + i + "]");
        }
        for (Map.Entry<EncoderRole, List<String>> o : overrides.entrySet()) {
            if (o.getValue().size() != batch) {
                throw Checks.fail("override prompts for " + o.getKey(), batch + " prompts", o.getValue().size());
            }
        }

        Map<EncoderRole, EncodedText> outputs = new LinkedHashMap<>();
        int clipTokens = -1;
        for (ConditioningLayout.Slot slot : layout.slots()) {
            TextEncoder encoder = encoders.get(slot.role());
            if (encoder == null) {
                continue;
            }
            EncodedText out = BackendException.wrap(slot.role().name(), "encode",
                    () -> encoder.encode(List.copyOf(overrides.getOrDefault(slot.role(), prompts))));
            Tensor tokens = checkTokens(slot, out, batch);
            if (slot.role().kind() == EncoderRole.Kind.CLIP) {
                if (clipTokens >= 0 && tokens.dim(1) != clipTokens) {
                    throw new BackendException(slot.role().name(), "encode", "returned " + tokens.dim(1)
                            + " tokens where the other CLIP encoder returned " + clipTokens);
                }
                clipTokens = tokens.dim(1);
                checkPooled(slot, out, batch);
            }
            outputs.put(slot.role(), out);
        }
        Conditioning c = assembleChecked(layout, batch, outputs);
        LOG.debug("Assembled conditioning context {} pooled {} from {}", c.context(), c.pooled(), encoders.keySet());
        return c;
    }

    /**
     * Assembles conditioning from per-encoder outputs computed earlier, by the same rules as {@link #encode}: a
     * role missing from {@code outputs} contributes zeros of its slot's shape. Training uses it to assemble batches
     * from cached encoder outputs, where dropping an encoder for one sample means zeroing that sample's rows.
     *
     * @param layout  the slots and context width
     * @param batch   the batch size B (needed when {@code outputs} is empty)
     * @param outputs role -> that encoder's output for the batch: tokens {@code [B, S, features]} of its slot (the
     *                CLIP roles sharing one S) and, for CLIP roles, pooled {@code [B, pooled]}; borrowed, not
     *                modified
     * @return context {@code [B, S_total, contextDim]} and pooled {@code [B, pooledDim]}, new tensors
     * @throws IllegalArgumentException for a role outside the layout or an output that does not fit its slot
     */
    public static Conditioning assemble(ConditioningLayout layout, int batch, Map<EncoderRole, EncodedText> outputs) {
        Checks.notNull(layout, "layout");
        Checks.atLeast(batch, 1, "batch");
        Checks.notNull(outputs, "outputs");
        int clipTokens = -1;
        for (Map.Entry<EncoderRole, EncodedText> e : outputs.entrySet()) {
            EncoderRole role = Checks.notNull(e.getKey(), "outputs role");
            ConditioningLayout.Slot slot = layout.slot(role).orElseThrow(
                    () -> Checks.fail("outputs role", "one of the layout's " + layout.roleNames(), role));
            Tensor tokens = Checks.notNull(e.getValue(), "outputs[" + role + "]").tokens();
            if (tokens.dim(0) != batch || tokens.dim(2) != slot.features()) {
                throw Checks.fail("tokens of " + role, "[" + batch + ", S, " + slot.features() + "]", tokens);
            }
            if (role.kind() == EncoderRole.Kind.CLIP) {
                if (clipTokens >= 0 && tokens.dim(1) != clipTokens) {
                    throw Checks.fail("tokens of " + role, clipTokens + " tokens like the other CLIP output",
                            tokens);
                }
                clipTokens = tokens.dim(1);
                Tensor p = e.getValue().pooled();
                if (p == null || !p.hasShape(batch, slot.pooled())) {
                    throw Checks.fail("pooled of " + role, "[" + batch + ", " + slot.pooled() + "]", p);
                }
            }
        }
        return assembleChecked(layout, batch, outputs);
    }

    /** The assembly proper, on outputs already checked against their slots. */
    private static Conditioning assembleChecked(ConditioningLayout layout, int batch,
                                                Map<EncoderRole, EncodedText> outputs) {
        List<Tensor> clipFeatures = new ArrayList<>();
        List<Tensor> pooled = new ArrayList<>();
        List<Tensor> sequences = new ArrayList<>();
        List<ConditioningLayout.Slot> missingClip = new ArrayList<>();
        int clipTokens = -1;
        for (ConditioningLayout.Slot slot : layout.slots()) {
            EncodedText out = outputs.get(slot.role());
            boolean clip = slot.role().kind() == EncoderRole.Kind.CLIP;
            if (out == null) {
                if (clip) {
                    missingClip.add(slot);
                    clipFeatures.add(null);
                    pooled.add(Tensor.zeros(batch, slot.pooled()));
                } else {
                    sequences.add(Tensor.zeros(batch, slot.tokens(), layout.contextDim()));
                }
                continue;
            }
            if (clip) {
                clipTokens = out.tokens().dim(1);
                clipFeatures.add(out.tokens());
                pooled.add(out.pooled());
            } else {
                sequences.add(out.tokens().padLastDim(layout.contextDim()));
            }
        }
        if (!missingClip.isEmpty()) {
            int tokens = clipTokens >= 0 ? clipTokens : missingClip.get(0).tokens();
            for (int i = 0, m = 0; i < clipFeatures.size(); i++) {
                if (clipFeatures.get(i) == null) {
                    clipFeatures.set(i, Tensor.zeros(batch, tokens, missingClip.get(m++).features()));
                }
            }
        }
        List<Tensor> sequence = new ArrayList<>();
        if (!clipFeatures.isEmpty()) {
            sequence.add(Tensor.concat(-1, clipFeatures.toArray(Tensor[]::new)).padLastDim(layout.contextDim()));
        }
        sequence.addAll(sequences);
        Tensor context = Tensor.concat(1, sequence.toArray(Tensor[]::new));
        Tensor pooledAll = pooled.isEmpty() ? Tensor.zeros(batch, 0) : Tensor.concat(-1, pooled.toArray(Tensor[]::new));
        return new Conditioning(context, pooledAll);
    }

    private static Tensor checkTokens(ConditioningLayout.Slot slot, EncodedText out, int batch) {
        if (out == null) {
            throw new BackendException(slot.role().name(), "encode", "returned null");
        }
        Tensor t = out.tokens();
        if (t.dim(0) != batch || t.dim(2) != slot.features()) {
            throw new BackendException(slot.role().name(), "encode", "returned tokens " + t + ", expected ["
                    + batch + ", S, " + slot.features() + "] for the layout's " + slot.role() + " slot");
        }
        return t;
    }

    private static Tensor checkPooled(ConditioningLayout.Slot slot, EncodedText out, int batch) {
        Tensor p = out.pooled();
        if (p == null || !p.hasShape(batch, slot.pooled())) {
            throw new BackendException(slot.role().name(), "encode", "returned pooled "
                    + (p == null ? "none" : p.toString()) + ", expected [" + batch + ", " + slot.pooled() + "]");
        }
        return p;
    }
}
