package org.sd3j;

import java.nio.file.Path;
import java.util.Optional;

/** A model file or folder could not be loaded: the message says which file, what was expected and what was found. */
public class ModelLoadException extends Sd3Exception {
    private static final long serialVersionUID = 1L;

    private final transient Path path;

    public ModelLoadException(Path path, String message) {
        super(path == null ? message : path + ": " + message);
        this.path = path;
    }

    public ModelLoadException(Path path, String message, Throwable cause) {
        super(path == null ? message : path + ": " + message, cause);
        this.path = path;
    }

    /** The file or folder that failed to load, when known. */
    public Optional<Path> path() {
        return Optional.ofNullable(path);
    }
}
