package org.sd3j.internal;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes files so that a failure never leaves a half-written file where the user's file was: content goes to a
 * hidden temp file beside the target, which then replaces the target in one move. Internal: not public API.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** Writes the content of a file at a path it is given. */
    @FunctionalInterface
    public interface Content {
        void writeTo(Path file) throws IOException;
    }

    /**
     * Writes {@code target} through a temp sibling: creates missing parent folders, writes, then moves the temp
     * file over the target (atomically where the file system can). On failure the temp file is deleted and the
     * target left as it was.
     */
    public static void write(Path target, Content content) throws IOException {
        Path absolute = target.toAbsolutePath();
        Files.createDirectories(absolute.getParent());
        Path tmp = createSibling(absolute);
        try {
            content.writeTo(tmp);
            moveIntoPlace(tmp, absolute);
            tmp = null;
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // The original failure is the one worth reporting.
                }
            }
        }
    }

    /**
     * A new empty hidden file beside {@code target}. Not {@link Files#createTempFile}: that makes the file
     * owner-only (rw-------) on POSIX systems and the moved file would keep it; a plain new file gets the usual
     * permissions (the process's umask).
     */
    public static Path createSibling(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        for (int attempt = 0; ; attempt++) {
            Path candidate = dir.resolve("." + target.getFileName() + "."
                    + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
            try {
                return Files.createFile(candidate);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 100) {
                    throw e;
                }
            }
        }
    }

    /** Moves {@code tmp} over {@code target}, atomically where supported. */
    public static void moveIntoPlace(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
