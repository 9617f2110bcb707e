package org.sd3j.train.lora;

import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.tensor.Tensor;

/** Small MMDiT shapes and random tensors for the LoRA tests. */
final class TestModels {
    private TestModels() {
    }

    /** Depth 2 (hidden 128), MMDiT-X attn2 in block 0, context 96, pooled 64. */
    static MmditConfig depth2() {
        return new MmditConfig(2, 128, 2, 2, 16, 16, 8, 96, 64, 512, true, Set.of(0));
    }

    /** Depth 1 (hidden 64). */
    static MmditConfig depth1() {
        return new MmditConfig(1, 64, 1, 2, 16, 16, 8, 96, 64, 256, false, Set.of());
    }

    static Map<String, long[]> shapes() {
        return LinearLayers.of(depth2());
    }

    static Tensor random(SplittableRandom r, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.set(i, (float) r.nextGaussian());
        }
        return t;
    }

    /** Fills every B of {@code w} with random values, so that deltas are not zero. */
    static LoraWeights withRandomB(LoraWeights w, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (LoraAdapter a : w.adapters().values()) {
            for (int i = 0; i < a.b().size(); i++) {
                a.b().set(i, (float) (r.nextGaussian() * 0.1));
            }
        }
        return w;
    }
}
