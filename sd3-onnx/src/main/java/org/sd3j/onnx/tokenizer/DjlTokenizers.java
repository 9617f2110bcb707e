package org.sd3j.onnx.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.sd3j.ModelLoadException;

/** Shared plumbing for the DJL-backed tokenizers: offline loading, file checks, padding. */
final class DjlTokenizers {
    private DjlTokenizers() {
    }

    /**
     * Loads a HuggingFace {@code tokenizer.json} text through DJL, offline. Padding, truncation and special
     * tokens are switched off explicitly (DJL ignores tokenizer.json's padding block anyway): the callers
     * add special tokens, truncate and pad in Java so they know exactly what was dropped.
     */
    static HuggingFaceTokenizer load(String tokenizerJson, Path source) {
        DjlOffline.ensure();
        Map<String, String> options = Map.of(
                "padding", "false",
                "truncation", "false",
                "addSpecialTokens", "false");
        try (InputStream in = new ByteArrayInputStream(tokenizerJson.getBytes(StandardCharsets.UTF_8))) {
            return HuggingFaceTokenizer.newInstance(in, options);
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException(source,
                    "expected a tokenizer DJL can load, found an error: " + e.getMessage(), e);
        } catch (LinkageError e) {
            throw new ModelLoadException(source,
                    "expected DJL's native tokenizers library (bundled in ai.djl.huggingface:tokenizers for "
                            + "linux/macOS/windows x86_64 and aarch64), found: " + e, e);
        }
    }

    /** Fails naming the folder and the first missing file, listing what the folder holds. */
    /**
     * The {@code model_max_length} of {@code folder}'s {@code tokenizer_config.json}, if the file exists and has a
     * positive integer there (HF writes a huge sentinel for "no limit": callers cap it).
     *
     * @throws ModelLoadException for a config file that is not JSON
     */
    static OptionalLong modelMaxLength(Path folder) {
        Path config = folder.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(config)) {
            return OptionalLong.empty();
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(config.toFile());
        } catch (IOException e) {
            throw new ModelLoadException(config, "expected JSON, found: " + e.getMessage(), e);
        }
        JsonNode n = root == null ? null : root.get("model_max_length");
        if (n == null || !n.isNumber() || n.asDouble() < 1) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(n.asDouble() >= Long.MAX_VALUE ? Long.MAX_VALUE : (long) n.asDouble());
    }

    static void requireFiles(Path folder, String kind, String... names) {
        if (!Files.isDirectory(folder)) {
            throw new ModelLoadException(folder, "expected a " + kind + " folder with " + String.join(", ", names)
                    + ", found " + (Files.exists(folder) ? "a file" : "nothing"));
        }
        for (String name : names) {
            if (!Files.isRegularFile(folder.resolve(name))) {
                throw new ModelLoadException(folder, "missing " + name + ": expected " + String.join(", ", names)
                        + " in a " + kind + " folder, found " + listing(folder));
            }
        }
    }

    static List<String> listing(Path folder) {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** {@code prefix + body + suffix}, padded with {@code padId} to {@code length}; body must fit. */
    static long[] assemble(long prefix, long[] body, int from, int count, long suffix, long padId, int length) {
        long[] out = new long[length];
        int pos = 0;
        if (prefix >= 0) {
            out[pos++] = prefix;
        }
        System.arraycopy(body, from, out, pos, count);
        pos += count;
        out[pos++] = suffix;
        for (; pos < length; pos++) {
            out[pos] = padId;
        }
        return out;
    }
}
