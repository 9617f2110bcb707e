package org.sd3j.train.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.function.Function;

import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.model.CombinedCheckpoint;
import org.sd3j.onnx.model.Sd3Model;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.SafetensorsWriter;

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
        try {
            Files.createDirectories(dir);
            Path mmdit = CombinedCheckpoint.mmdit(dir.resolve("mmdit-only.safetensors"));
            SafetensorsWriter w = SafetensorsWriter.create();
            CombinedCheckpoint.copy(mmdit, "", w, n -> false);
            CombinedCheckpoint.copy(golden(dir, "encoders/clip_l/weights.safetensors"),
                    "text_encoders.clip_l.transformer.", w, n -> false);
            if (clipG) {
                CombinedCheckpoint.copy(golden(dir, "encoders/clip_g_torch/checkpoint.safetensors"), "", w,
                        n -> !n.startsWith("text_encoders."));
            }
            CombinedCheckpoint.copy(golden(dir, "encoders/t5xxl/weights.safetensors"),
                    "text_encoders.t5xxl.transformer.", w, n -> false);
            CombinedCheckpoint.copy(golden(dir, "vae/weights.safetensors"), "", w, n -> false);
            Path checkpoint = dir.resolve(clipG ? "tiny_sd3.safetensors" : "tiny_sd3_no_clip_g.safetensors");
            w.write(checkpoint);
            Files.delete(mmdit);
            Sd3Model.Options options = CombinedCheckpoint.options()
                    .withTokenizer(EncoderRole.CLIP_L, tokenizer(77, 998, 999, 999))
                    .withTokenizer(EncoderRole.CLIP_G, tokenizer(77, 998, 999, 0))
                    .withTokenizer(EncoderRole.T5, tokenizer(32, -1, 1, 0));
            return Sd3Model.load(checkpoint, OnnxOptions.cpu(), options);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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

    /** A golden file of sd3-onnx's test jar, copied out (a jar's resources are not files). */
    private static Path golden(Path dir, String name) throws IOException {
        Path file = dir.resolve("golden").resolve(name);
        Files.createDirectories(file.getParent());
        try (InputStream in = TinySd3.class.getResourceAsStream("/golden/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource /golden/" + name);
            }
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        return file;
    }
}
