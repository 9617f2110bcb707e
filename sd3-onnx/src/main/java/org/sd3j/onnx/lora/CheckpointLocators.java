package org.sd3j.onnx.lora;

import java.util.Map;
import java.util.Optional;

import org.sd3j.onnx.clip.ClipWeights;
import org.sd3j.onnx.mmdit.MmditWeights;

/**
 * Where checkpoints store the weights LoRA modules adapt: the MMDiT in Stability's layout (fused qkv: a q/k/v module
 * covers a third of the rows) or diffusers' (separate q, k, v; the 2-chunk adaLN rows in (scale, shift) order), and
 * the CLIP encoders under their prefix. Stateless.
 */
public final class CheckpointLocators {
    private CheckpointLocators() {
    }

    /** The MMDiT's Linear weights in {@code weights}' checkpoint (the module must exist: check shapes first). */
    public static LoraPlacement.Locator mmdit(MmditWeights weights) {
        return m -> {
            long[] shape = weights.shape(m.module() + ".weight");
            if (m.isSlice()) {
                int d = Math.toIntExact(shape[0] / 3);
                String attention = m.module().substring(0, m.module().length() - ".qkv".length());
                Map.Entry<String, Long> key = weights.qkvKey(attention, m.part(), d);
                boolean separate = weights.layout() == MmditWeights.Layout.DIFFUSERS;
                return Optional.of(new StoredLinear(key.getKey() + ".weight", key.getValue(), d,
                        separate ? d : shape[0], shape[1], false, false));
            }
            String key = weights.keyOf(m.module() + ".weight");
            boolean swap = weights.layout() == MmditWeights.Layout.DIFFUSERS
                    && MmditModules.scaleShiftSwapped(m.module(), shape[0], shape[1]);
            return Optional.of(new StoredLinear(key + ".weight", 0, shape[0], shape[0], shape[1], false, swap));
        };
    }

    /** A CLIP encoder's Linear weights in {@code weights}' checkpoint. */
    public static LoraPlacement.Locator clip(ClipWeights weights) {
        return m -> {
            long[] shape = weights.shape(m.module() + ".weight");
            return Optional.of(new StoredLinear(weights.sourceName(m.module() + ".weight"), 0, shape[0], shape[0],
                    shape[1], false, false));
        };
    }
}
