package org.sd3j.examples.defaultmodel;

import java.nio.file.Path;

import org.sd3j.ModelLoadException;

/**
 * The bundled default model. TEMPORARY placeholder on the {@code cli} branch: the real class (written on the
 * default-model branch) replaces this file, with the same API. Until then {@link #extractToTemp()} fails, so
 * {@code sd3 generate} without {@code --model} reports that the default model is not built yet.
 */
public final class DefaultModel {
    private DefaultModel() {
    }

    /** The model folder extracted to a temporary folder, deleted on {@link #close()}. */
    public interface Extracted extends AutoCloseable {
        /** The extracted model folder (loadable with {@code Sd3Model.load}). */
        Path path();

        /** Deletes the extracted folder; idempotent. */
        @Override
        void close();
    }

    /**
     * Extracts the bundled model to a temporary folder.
     *
     * @throws ModelLoadException always, in this placeholder
     */
    public static Extracted extractToTemp() {
        throw new ModelLoadException(null, "the bundled default model is not built yet");
    }
}
