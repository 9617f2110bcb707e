package org.sd3j.onnx.safetensors;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

import org.sd3j.ModelLoadException;

/**
 * Finds a model's tensors in a checkpoint with the errors users need: a missing tensor is named (and the canonical
 * name it stands for, when the layout renames it) together with the layout assumed; a wrong shape says what was
 * expected and what was found. Immutable; borrows the source.
 */
public final class TensorLookup {
    private final TensorSource source;
    private final Path origin;
    private final String layout;

    /**
     * @param origin the checkpoint path, for messages
     * @param layout a description of the key layout assumed, e.g. "SD3 checkpoint layout with prefix '...'"
     */
    public TensorLookup(TensorSource source, Path origin, String layout) {
        this.source = source;
        this.origin = origin;
        this.layout = layout;
    }

    /** The tensor {@code name}, which holds the model's {@code canonical} tensor. */
    public TensorInfo require(String name, String canonical) {
        Optional<TensorInfo> info = source.find(name);
        if (info.isEmpty()) {
            throw new ModelLoadException(origin, "missing tensor '" + name + "'"
                    + (name.equals(canonical) ? "" : " (for '" + canonical + "')") + " in the " + layout);
        }
        return info.get();
    }

    /** Checks a tensor's shape; an empty {@code expected} accepts any. */
    public void checkShape(String name, long[] found, long[] expected) {
        if (expected.length > 0 && !Arrays.equals(found, expected)) {
            throw new ModelLoadException(origin, "tensor '" + name + "' has shape " + Arrays.toString(found)
                    + ", expected " + Arrays.toString(expected) + " (" + layout + ")");
        }
    }
}
