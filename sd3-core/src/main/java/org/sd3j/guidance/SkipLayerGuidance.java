package org.sd3j.guidance;

import java.util.Arrays;
import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;

import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * Skip-layer guidance for SD3.5 Medium (SPEC §2.8): during steps {@code i} with
 * {@code start*N < i < stop*N}, an extra positive-only forward with {@code blocks} skipped gives
 * {@code v_skip}, and {@code v += scale * (v_pos - v_skip)}. Applied only while classifier-free guidance is on,
 * as diffusers does. Needs a {@link org.sd3j.model.BlockSkippingDenoiser}.
 *
 * @param blocks transformer blocks to skip (SD3.5 Medium: 7, 8, 9)
 * @param scale  guidance strength (diffusers 2.8, the SAI reference 2.5)
 * @param start  fraction of the steps after which it starts (0.01)
 * @param stop   fraction of the steps before which it stops (0.2)
 */
public record SkipLayerGuidance(Set<Integer> blocks, double scale, double start, double stop) {
    public SkipLayerGuidance {
        Checks.notNull(blocks, "blocks");
        if (blocks.isEmpty()) {
            throw Checks.fail("blocks", "non-empty", blocks);
        }
        for (Integer b : blocks) {
            if (b == null || b < 0) {
                throw Checks.fail("blocks", "indices >= 0", blocks);
            }
        }
        // Sorted and unmodifiable: Set.copyOf would iterate in a per-JVM random order (logs, metadata, messages).
        blocks = Collections.unmodifiableSortedSet(new TreeSet<>(blocks));
        Checks.finite(scale, "scale");
        if (!(start >= 0 && start <= 1)) {
            throw Checks.fail("start", "in [0, 1]", start);
        }
        if (!(stop >= start && stop <= 1)) {
            throw Checks.fail("stop", "in [start, 1] = [" + start + ", 1]", stop);
        }
    }

    /** diffusers' defaults for SD3.5 Medium: blocks 7, 8, 9; scale 2.8; steps (0.01 N, 0.2 N). */
    public static SkipLayerGuidance diffusersDefaults() {
        return new SkipLayerGuidance(Set.of(7, 8, 9), 2.8, 0.01, 0.2);
    }

    /** The SAI reference's defaults for SD3.5 Medium: blocks 7, 8, 9; scale 2.5; steps (0.01 N, 0.2 N). */
    public static SkipLayerGuidance referenceDefaults() {
        return new SkipLayerGuidance(Set.of(7, 8, 9), 2.5, 0.01, 0.2);
    }

    /** Whether step {@code index} of {@code steps} gets the extra skip-layer forward. */
    public boolean isActive(int index, int steps) {
        return index > steps * start && index < steps * stop;
    }

    /** {@code guided += scale * (positive - skipped)} in place; returns {@code guided}. */
    public Tensor apply(Tensor guided, Tensor positive, Tensor skipped) {
        Checks.notNull(guided, "guided");
        Checks.notNull(positive, "positive");
        Checks.notNull(skipped, "skipped");
        if (!Arrays.equals(positive.shape(), guided.shape())) {
            throw Checks.fail("positive", "shaped like guided " + guided, positive);
        }
        if (!Arrays.equals(skipped.shape(), guided.shape())) {
            throw Checks.fail("skipped", "shaped like guided " + guided, skipped);
        }
        float s = (float) scale;
        for (int i = 0; i < guided.size(); i++) {
            guided.set(i, guided.get(i) + s * (positive.get(i) - skipped.get(i)));
        }
        return guided;
    }
}
