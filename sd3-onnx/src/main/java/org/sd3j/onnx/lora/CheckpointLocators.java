package org.sd3j.onnx.lora;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.sd3j.onnx.clip.ClipWeights;
import org.sd3j.onnx.mmdit.MmditWeights;

/**
 * Where checkpoints store the weights LoRA modules adapt: the MMDiT in Stability's layout (fused qkv: a q/k/v module
 * covers a third of the rows) or diffusers' (separate q, k, v, so a fused-qkv module covers three tensors; the
 * 2-chunk adaLN rows in (scale, shift) order), and the CLIP encoders under their prefix. Stateless.
 */
public final class CheckpointLocators {
    private CheckpointLocators() {
    }

    /** The MMDiT's Linear weights in {@code weights}' checkpoint (the module must exist: check shapes first). */
    public static LoraPlacement.Locator mmdit(MmditWeights weights) {
        boolean separate = weights.layout() == MmditWeights.Layout.DIFFUSERS;
        return m -> {
            long[] shape = weights.shape(m.module() + ".weight");
            if (m.isSlice() || separate && MmditModules.isFusedQkv(m.module())) {
                int d = Math.toIntExact(shape[0] / 3);
                String attention = m.module().substring(0, m.module().length() - ".qkv".length());
                List<StoredLinear> out = new ArrayList<>();
                for (int p = m.isSlice() ? m.part() : 0; p <= (m.isSlice() ? m.part() : 2); p++) {
                    Map.Entry<String, Long> key = weights.qkvKey(attention, p, d);
                    out.add(new StoredLinear(key.getKey() + ".weight", m.isSlice() ? 0 : (long) p * d, key.getValue(),
                            d, separate ? d : shape[0], shape[1], false, false));
                }
                return out;
            }
            String key = weights.keyOf(m.module() + ".weight");
            boolean swap = separate && MmditModules.scaleShiftSwapped(m.module(), shape[0], shape[1]);
            return List.of(new StoredLinear(key + ".weight", 0, 0, shape[0], shape[0], shape[1], false, swap));
        };
    }

    /** A CLIP encoder's Linear weights in {@code weights}' checkpoint. */
    public static LoraPlacement.Locator clip(ClipWeights weights) {
        return m -> {
            long[] shape = weights.shape(m.module() + ".weight");
            return List.of(new StoredLinear(weights.sourceName(m.module() + ".weight"), 0, 0, shape[0], shape[0],
                    shape[1], false, false));
        };
    }
}
