package org.sd3j.conditioning;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.sd3j.internal.Checks;
import org.sd3j.model.EncoderRole;

/**
 * The shape of a model's text conditioning: which encoder slots exist, each slot's token count and feature
 * widths, and the context width every slot is zero-padded to (SPEC §3). A missing encoder contributes zeros of
 * its slot's shape. Immutable and thread-safe.
 */
public final class ConditioningLayout {

    /**
     * One encoder slot.
     *
     * @param role     the encoder role
     * @param tokens   token count used for zeros when the encoder is absent (CLIP 77, T5 256)
     * @param features per-token feature width
     * @param pooled   pooled vector width (CLIP kinds), 0 for sequence kinds
     */
    public record Slot(EncoderRole role, int tokens, int features, int pooled) {
        public Slot {
            Checks.notNull(role, "role");
            Checks.atLeast(tokens, 1, "tokens");
            Checks.atLeast(features, 1, "features");
            if (role.kind() == EncoderRole.Kind.CLIP) {
                Checks.atLeast(pooled, 1, "pooled");
            } else if (pooled != 0) {
                throw Checks.fail("pooled", "0 for the sequence role " + role, pooled);
            }
        }
    }

    private static final ConditioningLayout SD3 = builder()
            .slot(EncoderRole.CLIP_L, 77, 768, 768)
            .slot(EncoderRole.CLIP_G, 77, 1280, 1280)
            .slot(EncoderRole.T5, 256, 4096, 0)
            .contextDim(4096)
            .build();

    private final List<Slot> slots;
    private final int contextDim;

    private ConditioningLayout(List<Slot> slots, int contextDim) {
        this.slots = List.copyOf(slots);
        this.contextDim = contextDim;
    }

    /** SD3 / SD3.5: CLIP-L (77x768, pooled 768), CLIP-G (77x1280, pooled 1280), T5 (256x4096); context 4096. */
    public static ConditioningLayout sd3() {
        return SD3;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Slots in assembly order. */
    public List<Slot> slots() {
        return slots;
    }

    public Optional<Slot> slot(EncoderRole role) {
        return slots.stream().filter(s -> s.role().equals(role)).findFirst();
    }

    /** Width D of the assembled context [B, S, D]. */
    public int contextDim() {
        return contextDim;
    }

    /** Width P of the assembled pooled vector [B, P]: the CLIP slots' pooled widths summed. */
    public int pooledDim() {
        return slots.stream().mapToInt(Slot::pooled).sum();
    }

    /** A copy with the T5 (or other sequence slot) zero-token count changed, e.g. 77 or 512. */
    public ConditioningLayout withTokens(EncoderRole role, int tokens) {
        Builder b = builder().contextDim(contextDim);
        boolean found = false;
        for (Slot s : slots) {
            if (s.role().equals(role)) {
                b.slot(s.role(), tokens, s.features(), s.pooled());
                found = true;
            } else {
                b.slot(s.role(), s.tokens(), s.features(), s.pooled());
            }
        }
        if (!found) {
            throw Checks.fail("role", "one of " + roleNames(), role);
        }
        return b.build();
    }

    List<String> roleNames() {
        return slots.stream().map(s -> s.role().name()).toList();
    }

    @Override
    public String toString() {
        return "ConditioningLayout" + slots + " contextDim=" + contextDim;
    }

    /** Builds a layout; slot order is assembly order. Not thread-safe. */
    public static final class Builder {
        private final List<Slot> slots = new ArrayList<>();
        private int contextDim = -1;

        private Builder() {
        }

        public Builder slot(EncoderRole role, int tokens, int features, int pooled) {
            Slot slot = new Slot(role, tokens, features, pooled);
            for (Slot s : slots) {
                if (s.role().equals(role)) {
                    throw Checks.fail("role", "unique in the layout", role);
                }
            }
            slots.add(slot);
            return this;
        }

        public Builder contextDim(int contextDim) {
            this.contextDim = Checks.atLeast(contextDim, 1, "contextDim");
            return this;
        }

        public ConditioningLayout build() {
            if (contextDim < 0) {
                throw Checks.fail("contextDim", "set", "unset");
            }
            int clipWidth = 0;
            int clipTokens = -1;
            for (Slot s : slots) {
                if (s.role().kind() == EncoderRole.Kind.CLIP) {
                    clipWidth += s.features();
                    if (clipTokens >= 0 && s.tokens() != clipTokens) {
                        throw Checks.fail("tokens of " + s.role(), clipTokens + " like the other CLIP slots", s.tokens());
                    }
                    clipTokens = s.tokens();
                } else if (s.features() > contextDim) {
                    throw Checks.fail("features of " + s.role(), "<= contextDim " + contextDim, s.features());
                }
            }
            if (clipWidth > contextDim) {
                throw Checks.fail("contextDim", ">= the CLIP slots' summed features " + clipWidth, contextDim);
            }
            return new ConditioningLayout(slots, contextDim);
        }
    }
}
