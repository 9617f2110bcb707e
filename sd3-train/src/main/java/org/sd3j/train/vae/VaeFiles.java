package org.sd3j.train.vae;

import java.nio.file.Path;
import java.util.Map;

import org.sd3j.internal.Checks;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.tensor.Tensor;

/**
 * Writes autoencoder weights as SD3 single-file checkpoints do: float32 tensors under {@code first_stage_model.}
 * plus the canonical name (what {@code VaeWeights} and {@code OnnxVae} read), with string metadata, atomically.
 * Stateless.
 */
public final class VaeFiles {
    /** The key prefix of the autoencoder in SD3 checkpoints. */
    public static final String PREFIX = "first_stage_model.";

    private VaeFiles() {
    }

    /**
     * Writes {@code weights} (canonical name -> tensor, read during the call) to {@code file}, replacing it.
     *
     * @throws org.sd3j.Sd3Exception if the file cannot be written
     */
    public static void write(Path file, Map<String, Tensor> weights, Map<String, String> metadata) {
        Checks.notNull(file, "file");
        Checks.notNull(weights, "weights");
        Checks.notNull(metadata, "metadata");
        SafetensorsWriter w = SafetensorsWriter.create();
        weights.forEach((name, t) -> w.add(PREFIX + name, t));
        metadata.forEach(w::metadata);
        w.write(file);
    }
}
