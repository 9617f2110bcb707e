package org.sd3j.examples.cli;

import java.nio.file.Files;
import java.nio.file.Path;

import org.sd3j.Sd3Exception;
import org.sd3j.image.Image;

/** Reads the images given on the command line ({@code --init-image}, {@code --mask}) with errors naming the option. */
final class InputImages {
    private InputImages() {
    }

    /**
     * Reads {@code file} (PNG, JPEG, BMP, GIF: what {@code javax.imageio} reads) through {@link Image#read}.
     *
     * @throws Sd3Exception {@code "--init-image photo.png: no such file"}, or the reader's reason
     */
    static Image read(String option, Path file) {
        if (!Files.isRegularFile(file)) {
            throw new Sd3Exception(option + " " + file + ": " + (Files.isDirectory(file) ? "a folder, not an image file"
                    : "no such file"));
        }
        try {
            return Image.read(file);
        } catch (Sd3Exception e) {
            throw new Sd3Exception(option + " " + e.getMessage(), e);
        }
    }
}
