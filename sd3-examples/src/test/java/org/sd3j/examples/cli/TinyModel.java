package org.sd3j.examples.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import org.sd3j.onnx.convert.CheckpointConverter;
import org.sd3j.onnx.model.CombinedCheckpoint;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.tokenizer.SyntheticClipVocab;

/**
 * A complete, tiny SD3 model for command tests: sd3-onnx's golden CLIP-L, CLIP-G, T5 and VAE with a random depth-1
 * MMDiT ({@link CombinedCheckpoint}), converted to an ONNX folder with tokenizer folders (synthetic CLIP
 * vocabularies, a small T5 unigram tokenizer), so that {@code sd3 generate --model DIR} runs end to end in about a
 * second at 64x64.
 */
final class TinyModel {
    private TinyModel() {
    }

    /** Writes the single-file checkpoint with every component into {@code dir} and returns it. */
    static Path checkpoint(Path dir) {
        return checkpoint(dir, true);
    }

    /**
     * Writes a single-file checkpoint into {@code dir}; without CLIP-G it loads without options (the golden CLIP-G's
     * head count is not width / 64), as {@code sd3 generate --model FILE} loads it.
     */
    static Path checkpoint(Path dir, boolean clipG) {
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
            Path out = dir.resolve("tiny_sd3.safetensors");
            w.write(out);
            Files.delete(mmdit);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A diffusers-style folder with tokenizer/, tokenizer_2/ and tokenizer_3/. */
    static Path tokenizers(Path dir) {
        try {
            SyntheticClipVocab.write(dir.resolve("tokenizer"), "<|endoftext|>", true);
            SyntheticClipVocab.write(dir.resolve("tokenizer_2"), "!", true);
            Files.createDirectories(dir.resolve("tokenizer_3"));
            copyResource("/tokenizer/t5/tokenizer.json", dir.resolve("tokenizer_3").resolve("tokenizer.json"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The ONNX folder {@code dir/onnx} with every component and tokenizers. */
    static Path onnxFolder(Path dir) {
        Path out = dir.resolve("onnx");
        CheckpointConverter.convert(checkpoint(dir.resolve("checkpoint")), out, CheckpointConverter.Options.defaults()
                .withClipHeads(CombinedCheckpoint.CLIP_HEADS).withTokenizers(tokenizers(dir.resolve("tokenizers"))));
        return out;
    }

    /** A golden file of sd3-onnx's test jar, copied out (the jar's resources are not files). */
    private static Path golden(Path dir, String name) throws IOException {
        Path file = dir.resolve("golden").resolve(name);
        Files.createDirectories(file.getParent());
        copyResource("/golden/" + name, file);
        return file;
    }

    private static void copyResource(String resource, Path file) throws IOException {
        try (InputStream in = TinyModel.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
