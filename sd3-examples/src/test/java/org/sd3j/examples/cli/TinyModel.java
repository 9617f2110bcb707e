package org.sd3j.examples.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import org.sd3j.onnx.convert.CheckpointConverter;
import org.sd3j.onnx.model.CombinedCheckpoint;
import org.sd3j.onnx.model.CombinedCheckpoint.Part;
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
        java.util.Set<Part> parts = clipG ? java.util.EnumSet.allOf(Part.class)
                : java.util.EnumSet.of(Part.CLIP_L, Part.T5, Part.VAE);
        return CombinedCheckpoint.write(dir, parts, n -> false, "tiny_sd3.safetensors");
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


    private static void copyResource(String resource, Path file) throws IOException {
        try (InputStream in = TinyModel.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
