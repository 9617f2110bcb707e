package org.sd3j.train.lora;

import java.util.Map;

import org.sd3j.internal.Checks;

/**
 * A LoRA file as read by {@link LoraFiles#read}: its adapters in canonical form, the layout it had, and its
 * whole {@code __metadata__} (provenance included). Immutable apart from the adapters' tensor values, which
 * belong to the caller.
 *
 * @param weights  the adapters, keyed by original module name
 * @param layout   the file's key layout
 * @param metadata the file's {@code __metadata__}, unmodifiable
 */
public record LoraFile(LoraWeights weights, LoraLayout layout, Map<String, String> metadata) {
    public LoraFile {
        Checks.notNull(weights, "weights");
        Checks.notNull(layout, "layout");
        metadata = Map.copyOf(Checks.notNull(metadata, "metadata"));
    }
}
