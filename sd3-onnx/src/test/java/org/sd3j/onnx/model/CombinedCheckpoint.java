package org.sd3j.onnx.model;

import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.function.Predicate;

import org.sd3j.onnx.mmdit.RandomCheckpoint;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorInfo;
import org.sd3j.onnx.safetensors.TensorSource;

/**
 * Builds small SD3 checkpoints from the golden weights: CLIP-L (width 64), CLIP-G (width 96, projected), T5 (width
 * 192), the VAE, and a random depth-1 MMDiT whose context (192) and pooled (64 + 96) widths fit them.
 */
public final class CombinedCheckpoint {
    public static final int CONTEXT_DIM = 192;
    public static final int POOLED_DIM = 160;
    /** The golden CLIP-G has 6 heads of 16 (width 96), the golden CLIP-L 4 heads of 16. */
    public static final java.util.Map<org.sd3j.model.EncoderRole, Integer> CLIP_HEADS = java.util.Map.of(
            org.sd3j.model.EncoderRole.CLIP_L, 4, org.sd3j.model.EncoderRole.CLIP_G, 6);

    /** Options with the golden encoders' head counts. */
    public static org.sd3j.onnx.model.Sd3Model.Options options() {
        return org.sd3j.onnx.model.Sd3Model.Options.defaults()
                .withClipHeads(org.sd3j.model.EncoderRole.CLIP_L, 4)
                .withClipHeads(org.sd3j.model.EncoderRole.CLIP_G, 6);
    }

    /** Which parts to include. */
    public enum Part { CLIP_L, CLIP_G, T5, VAE }

    private CombinedCheckpoint() {
    }

    /**
     * A golden file as a path: the resource itself when it is a file, else (read from this test-jar by another
     * module) a temporary copy, deleted when the JVM exits.
     */
    public static Path golden(String path) {
        java.net.URL url = CombinedCheckpoint.class.getResource("/golden/" + path);
        if (url == null) {
            throw new IllegalStateException("missing test resource /golden/" + path);
        }
        try {
            if ("file".equals(url.getProtocol())) {
                return Path.of(url.toURI());
            }
            Path copy = Files.createTempFile("golden-", "-" + path.replace('/', '_'));
            copy.toFile().deleteOnExit();
            try (java.io.InputStream in = url.openStream()) {
                Files.copy(in, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            return copy;
        } catch (URISyntaxException | java.io.IOException e) {
            throw new IllegalStateException("cannot read test resource /golden/" + path, e);
        }
    }

    /** A random MMDiT with the widths above (8x8 patch grid: up to 128x128 pixels). */
    public static Path mmdit(Path file) {
        return RandomCheckpoint.write(file, 1, CONTEXT_DIM, POOLED_DIM, 8, false, Set.of(), DType.F32, 20240613L);
    }

    /** A single-file checkpoint with the MMDiT and {@code parts}; tensors named by {@code drop} are left out. */
    public static Path write(Path dir, Set<Part> parts, Predicate<String> drop) throws Exception {
        return write(dir, parts, drop, "sd3_combined.safetensors");
    }

    /** {@link #write(Path, Set, Predicate)} into {@code dir/fileName}. */
    public static Path write(Path dir, Set<Part> parts, Predicate<String> drop, String fileName) {
        java.util.Objects.requireNonNull(fileName, "fileName");
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Path mmdit = mmdit(dir.resolve("mmdit-only.safetensors"));
        SafetensorsWriter w = SafetensorsWriter.create();
        copy(mmdit, "", w, drop);
        if (parts.contains(Part.CLIP_L)) {
            copy(golden("encoders/clip_l/weights.safetensors"), "text_encoders.clip_l.transformer.", w, drop);
        }
        if (parts.contains(Part.CLIP_G)) {
            copy(golden("encoders/clip_g_torch/checkpoint.safetensors"), "", w,
                    n -> !n.startsWith("text_encoders.") || drop.test(n));
        }
        if (parts.contains(Part.T5)) {
            copy(golden("encoders/t5xxl/weights.safetensors"), "text_encoders.t5xxl.transformer.", w, drop);
        }
        if (parts.contains(Part.VAE)) {
            copy(golden("vae/weights.safetensors"), "", w, drop);
        }
        Path out = dir.resolve(fileName);
        w.write(out);
        try {
            Files.delete(mmdit);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out;
    }

    /** Copies every tensor of {@code file}, renamed {@code prefix + name} (after removing {@code strip}). */
    public static void copy(Path file, String prefix, SafetensorsWriter w, Predicate<String> drop) {
        copy(file, "", prefix, w, drop);
    }

    public static void copy(Path file, String strip, String prefix, SafetensorsWriter w, Predicate<String> drop) {
        try (TensorSource s = Safetensors.open(file)) {
            for (String n : s.names()) {
                String name = prefix + (n.startsWith(strip) ? n.substring(strip.length()) : n);
                if (drop.test(name)) {
                    continue;
                }
                TensorInfo info = s.info(n);
                ByteBuffer src = s.bytes(n);
                ByteBuffer copy = ByteBuffer.allocate(src.remaining());
                copy.put(src.duplicate());
                copy.flip();
                w.add(name, info.dtype(), info.shape(), copy);
            }
        }
    }
}
