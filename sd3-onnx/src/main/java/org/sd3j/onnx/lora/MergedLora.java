package org.sd3j.onnx.lora;

import java.nio.file.Path;
import java.util.List;

/**
 * What merging one LoRA file into one part of a model did.
 *
 * @param file      the LoRA file
 * @param weight    its weight
 * @param component the model part
 * @param applied   how many of the file's adapters for that part were merged
 * @param unmapped  the adapters for that part whose weights could not be found in the model (ONNX exports that
 *                  name their initializers otherwise), as {@code <module>} or {@code <module> (q rows)}; empty for
 *                  checkpoints, where a missing weight is an error
 */
public record MergedLora(Path file, double weight, LoraComponent component, int applied, List<String> unmapped) {
    public MergedLora {
        unmapped = List.copyOf(unmapped);
    }
}
