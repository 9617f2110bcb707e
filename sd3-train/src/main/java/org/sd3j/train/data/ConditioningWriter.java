package org.sd3j.train.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.model.EncoderRole;
import org.sd3j.tensor.Tensor;

/**
 * Writes one sample's encoder outputs straight into its rows of a batch's context {@code [B, S, D]} and pooled
 * {@code [B, P]}, where {@link org.sd3j.conditioning.PromptEncoder#assemble} would put them: the CLIP slots' tokens
 * side by side in slot order over the first rows, zero-padded to {@code D}; every other slot's tokens below, in slot
 * order, each zero-padded to {@code D}; the CLIP slots' pooled vectors side by side. A slot without values (its
 * encoder absent from the cache, or dropped for the sample) is written as zeros, and so is all padding: every
 * element of the sample's rows is written, so buffers reused from an earlier batch keep nothing of it.
 *
 * <p>The token counts are fixed when the writer is made (from one caption's outputs, as the cache stores them), so
 * every batch of a dataset has the same context shape. Immutable and thread-safe; the tensors written are the
 * caller's.
 */
final class ConditioningWriter {
    /** Where one slot's values go: rows {@code [row, row + tokens)}, columns {@code [column, column + features)}. */
    private record Placement(int role, int row, int column, int tokens, int features, int pooledColumn,
                             int pooledWidth) {
    }

    private final List<EncoderRole> roles;
    // Arrays rather than lists: iterating them allocates nothing, and write runs for every sample of every step.
    private final Placement[] clip;
    private final Placement[] sequences;
    private final int clipTokens;
    private final int clipWidth;
    private final int tokens;
    private final int width;
    private final int pooledWidth;

    private ConditioningWriter(List<EncoderRole> roles, List<Placement> clip, List<Placement> sequences,
                               int clipTokens, int clipWidth, int tokens, int width, int pooledWidth) {
        this.roles = List.copyOf(roles);
        this.clip = clip.toArray(Placement[]::new);
        this.sequences = sequences.toArray(Placement[]::new);
        this.clipTokens = clipTokens;
        this.clipWidth = clipWidth;
        this.tokens = tokens;
        this.width = width;
        this.pooledWidth = pooledWidth;
    }

    /**
     * A writer for {@code layout} where the roles in {@code tokenCounts} have outputs of that many tokens and the
     * others contribute zeros of their slot's shape (a missing CLIP slot takes the present CLIP slots' count), as
     * {@link org.sd3j.conditioning.PromptEncoder#assemble} sizes them. The CLIP counts must agree (the caller checks).
     */
    static ConditioningWriter of(ConditioningLayout layout, Map<EncoderRole, Integer> tokenCounts) {
        List<EncoderRole> roles = new ArrayList<>();
        int clipTokens = -1;
        int firstClipSlotTokens = -1;
        for (ConditioningLayout.Slot slot : layout.slots()) {
            roles.add(slot.role());
            if (slot.role().kind() == EncoderRole.Kind.CLIP) {
                if (firstClipSlotTokens < 0) {
                    firstClipSlotTokens = slot.tokens();
                }
                if (tokenCounts.containsKey(slot.role())) {
                    clipTokens = tokenCounts.get(slot.role());
                }
            }
        }
        if (clipTokens < 0) {
            clipTokens = Math.max(firstClipSlotTokens, 0); // no CLIP output: the first CLIP slot's zeros, if any
        }
        List<Placement> clip = new ArrayList<>();
        List<Placement> sequences = new ArrayList<>();
        int column = 0;
        int pooledColumn = 0;
        int row = clipTokens;
        for (int r = 0; r < roles.size(); r++) {
            ConditioningLayout.Slot slot = layout.slots().get(r);
            if (slot.role().kind() == EncoderRole.Kind.CLIP) {
                clip.add(new Placement(r, 0, column, clipTokens, slot.features(), pooledColumn, slot.pooled()));
                column += slot.features();
                pooledColumn += slot.pooled();
            } else {
                int n = tokenCounts.getOrDefault(slot.role(), slot.tokens());
                sequences.add(new Placement(r, row, 0, n, slot.features(), 0, 0));
                row += n;
            }
        }
        return new ConditioningWriter(roles, clip, sequences, clipTokens, column, row, layout.contextDim(),
                pooledColumn);
    }

    /** The layout's roles in slot order: the indices of {@link #write}'s source arrays. */
    List<EncoderRole> roles() {
        return roles;
    }

    /** S of the context {@code [B, S, D]}. */
    int tokens() {
        return tokens;
    }

    /** D of the context {@code [B, S, D]}. */
    int width() {
        return width;
    }

    /** P of the pooled {@code [B, P]}. */
    int pooledWidth() {
        return pooledWidth;
    }

    /**
     * Writes sample {@code sample}'s rows of {@code context} {@code [B, tokens(), width()]} and {@code pooled}
     * {@code [B, pooledWidth()]}, overwriting every element of them.
     *
     * @param tokenSources  per role (indexed as {@link #roles()}): its tokens {@code [S, features]} row-major, or
     *                      null for zeros
     * @param pooledSources per role: its pooled vector {@code [pooled]} (CLIP kinds), or null for zeros
     */
    void write(int sample, Tensor context, Tensor pooled, FloatSource[] tokenSources, FloatSource[] pooledSources) {
        int base = sample * tokens * width;
        for (int row = 0; row < clipTokens; row++) {
            int at = base + row * width;
            for (Placement p : clip) {
                copy(tokenSources[p.role()], row * p.features(), context, at + p.column(), p.features());
            }
            zero(context, at + clipWidth, width - clipWidth);
        }
        for (Placement p : sequences) {
            for (int row = 0; row < p.tokens(); row++) {
                int at = base + (p.row() + row) * width;
                copy(tokenSources[p.role()], row * p.features(), context, at, p.features());
                zero(context, at + p.features(), width - p.features());
            }
        }
        for (Placement p : clip) {
            copy(pooledSources[p.role()], 0, pooled, sample * pooledWidth + p.pooledColumn(), p.pooledWidth());
        }
    }

    private static void copy(FloatSource from, int offset, Tensor to, int at, int count) {
        if (from == null) {
            zero(to, at, count);
            return;
        }
        for (int k = 0; k < count; k++) {
            to.set(at + k, from.get(offset + k));
        }
    }

    private static void zero(Tensor to, int at, int count) {
        for (int k = 0; k < count; k++) {
            to.set(at + k, 0f);
        }
    }
}
