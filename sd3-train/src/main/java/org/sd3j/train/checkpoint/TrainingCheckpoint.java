package org.sd3j.train.checkpoint;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import org.sd3j.ModelLoadException;
import org.sd3j.Sd3Exception;
import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.optim.StateTensors;

/**
 * Everything needed to resume training exactly, saved as one safetensors file: the trainable tensors, the
 * optimizer's state, the EMA's state (if any), the step, RNG seeds and counters, and the run's configuration as
 * JSON.
 *
 * <p><b>File.</b> {@link #save(Path)} writes tensors {@code param/<name>}, {@code optimizer/<name>},
 * {@code ema/<name>} (float32), int64 scalars {@code counter/step}, {@code counter/optimizer.step},
 * {@code counter/ema.step} and {@code rng/<name>}, and {@code __metadata__} entries {@code sd3j.format}
 * ({@code sd3j-training-checkpoint}), {@code sd3j.format_version} ({@code 1}), {@code sd3j.config} (the JSON),
 * {@code sd3j.order} (each section's names in their map order, since safetensors sorts names) and
 * {@code sd3j.crc32c} (CRC32C of every tensor's name and bytes, in name order, so that corrupted data is caught
 * on load, not just a truncated file). The write goes to a temp file beside the target that is forced to disk
 * and then moved over it, so the previous checkpoint stays intact until the new one is complete.
 * {@link #load(Path)} restores every tensor and counter bit for bit, with the maps in their saved order.
 *
 * <p><b>Ownership.</b> The record holds the given tensors by reference: {@code save} reads them (so they must
 * not change during it), e.g. what {@code AdamW.state()} returns. A loaded checkpoint's tensors are new and
 * belong to the caller; hand them to {@code AdamW.loadState}, {@code Ema.loadState} and copy the parameters in.
 *
 * @param step       training steps completed, {@code >= 0}
 * @param parameters trainable tensors by name (e.g. {@code LoraWeights.parameters()})
 * @param optimizer  the optimizer state ({@code AdamW.state()})
 * @param ema        the EMA state ({@code Ema.state()}), if an EMA is kept
 * @param rngState   random generator seeds and counters by name (e.g. {@code "noise.seed"}, {@code "noise.draws"})
 * @param configJson the run's configuration as a JSON document
 */
public record TrainingCheckpoint(long step, Map<String, Tensor> parameters, StateTensors optimizer,
                                 Optional<StateTensors> ema, Map<String, Long> rngState, String configJson) {

    /**
     * @throws IllegalArgumentException for a negative step, a null component, or null names or values
     */
    public TrainingCheckpoint {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, found " + step);
        }
        parameters = ordered(parameters, "parameters");
        Checks.notNull(optimizer, "optimizer");
        Checks.notNull(ema, "ema");
        Checks.notNull(rngState, "rngState");
        Map<String, Long> rng = new LinkedHashMap<>();
        rngState.forEach((k, v) -> rng.put(Checks.notNull(k, "rngState key"),
                Checks.notNull(v, "rngState['" + k + "']")));
        rngState = Collections.unmodifiableMap(rng);
        Checks.notNull(configJson, "configJson");
    }

    private static Map<String, Tensor> ordered(Map<String, Tensor> tensors, String what) {
        Checks.notNull(tensors, what);
        Map<String, Tensor> out = new LinkedHashMap<>();
        tensors.forEach((k, t) -> out.put(Checks.notNull(k, what + " key"),
                Checks.notNull(t, what + "['" + k + "']")));
        return Collections.unmodifiableMap(out);
    }

    /**
     * Writes this checkpoint to {@code file} atomically (see the class description).
     *
     * @throws IllegalArgumentException if {@code file} is null or {@code configJson} is not valid JSON
     * @throws Sd3Exception             if the file cannot be written (the message names it)
     */
    public void save(Path file) {
        CheckpointFile.write(Checks.notNull(file, "file"), this);
    }

    /**
     * Reads a checkpoint written by {@link #save(Path)}.
     *
     * @throws ModelLoadException naming the file if it is missing, truncated, corrupt (header or checksum), or not
     *                            an sd3j training checkpoint of a known version
     */
    public static TrainingCheckpoint load(Path file) {
        return CheckpointFile.read(Checks.notNull(file, "file"));
    }
}
