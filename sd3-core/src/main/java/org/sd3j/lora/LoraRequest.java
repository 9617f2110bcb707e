package org.sd3j.lora;

import java.nio.file.Path;
import java.util.Locale;

import org.sd3j.internal.Checks;

/**
 * A LoRA to apply: a safetensors file and its weight (the strength, as ComfyUI's and AUTOMATIC1111's LoRA weight:
 * the adapter's change to each weight is multiplied by it). sd3-core never opens the file: the backend that applies
 * it does (see {@link LoraCapable}). Immutable.
 *
 * @param file   the LoRA file
 * @param weight any finite number; 0 leaves the model exactly as it is, 1 applies the LoRA as trained, negative
 *               values subtract it
 */
public record LoraRequest(Path file, double weight) {
    /** @throws IllegalArgumentException for a null file or a non-finite weight */
    public LoraRequest {
        Checks.notNull(file, "file");
        Checks.finite(weight, "weight");
    }

    /** {@code file} at weight 1. */
    public static LoraRequest of(Path file) {
        return new LoraRequest(file, 1.0);
    }

    /**
     * The name AUTOMATIC1111 gives the LoRA in {@code <lora:name:weight>}: the file name without its
     * {@code .safetensors} extension.
     */
    public String name() {
        Path f = file.getFileName();
        String name = f == null ? file.toString() : f.toString();
        return name.toLowerCase(Locale.ROOT).endsWith(".safetensors")
                ? name.substring(0, name.length() - ".safetensors".length()) : name;
    }

    @Override
    public String toString() {
        return "LoraRequest[" + file + ", weight " + weight + "]";
    }
}
