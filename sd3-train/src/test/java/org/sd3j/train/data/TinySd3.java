package org.sd3j.train.data;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Function;

import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.model.CombinedCheckpoint;
import org.sd3j.onnx.model.CombinedCheckpoint.Part;
import org.sd3j.onnx.model.Sd3Model;
import org.sd3j.onnx.runtime.OnnxOptions;

/**
 * A tiny real SD3 for integration tests: sd3-onnx's golden CLIP-L (width 64), CLIP-G (96), T5 (192) and VAE with a
 * random depth-1 MMDiT ({@link CombinedCheckpoint}), as a single-file checkpoint loaded through ONNX Runtime, with
 * toy tokenizers (a few character ids between BOS and EOS).
 */
public final class TinySd3 {
    private TinySd3() {
    }

    /** Loads the model; with {@code clipG} false the checkpoint lacks CLIP-G. The caller closes it. */
    public static Sd3Model load(Path dir, boolean clipG) {
        java.util.Set<Part> parts = clipG ? java.util.EnumSet.allOf(Part.class)
                : java.util.EnumSet.of(Part.CLIP_L, Part.T5, Part.VAE);
        Path checkpoint = CombinedCheckpoint.write(dir, parts, n -> false,
                clipG ? "tiny_sd3.safetensors" : "tiny_sd3_no_clip_g.safetensors");
        Sd3Model.Options options = CombinedCheckpoint.options()
                .withTokenizer(EncoderRole.CLIP_L, tokenizer(77, 998, 999, 999))
                .withTokenizer(EncoderRole.CLIP_G, tokenizer(77, 998, 999, 0))
                .withTokenizer(EncoderRole.T5, tokenizer(32, -1, 1, 0));
        return Sd3Model.load(checkpoint, OnnxOptions.cpu(), options);
    }

    private static Function<String, long[]> tokenizer(int length, long bos, long eos, long pad) {
        return prompt -> {
            long[] ids = new long[length];
            Arrays.fill(ids, pad);
            int i = 0;
            if (bos >= 0) {
                ids[i++] = bos;
            }
            for (int k = 0; k < Math.min(5, prompt.length()); k++) {
                ids[i++] = 10 + (prompt.charAt(k) % 50);
            }
            ids[i] = eos;
            return ids;
        };
    }
}
