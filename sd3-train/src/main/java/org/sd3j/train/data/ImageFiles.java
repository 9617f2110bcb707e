package org.sd3j.train.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

import org.sd3j.Sd3Exception;
import org.sd3j.image.Image;

/** Which files are dataset images, and reading their size or pixels through ImageIO. */
final class ImageFiles {
    /** Extensions (lower case) of the files a dataset folder treats as images. */
    static final List<String> EXTENSIONS = List.of("png", "jpg", "jpeg", "webp", "bmp");

    /** A file that cannot be read as an image; the message says why and what to do. */
    static final class UnreadableException extends Exception {
        private static final long serialVersionUID = 1L;

        UnreadableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Width and height from an image file's header. */
    record Size(int width, int height) {
    }

    private ImageFiles() {
    }

    static boolean isImage(Path file) {
        return EXTENSIONS.contains(extension(file));
    }

    static String extension(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    /** The size from the file's header, without decoding the pixels. */
    static Size readSize(Path file) throws UnreadableException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) {
                throw new UnreadableException("cannot open the file", null);
            }
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new UnreadableException(noReader(file), null);
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                return new Size(reader.getWidth(0), reader.getHeight(0));
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new UnreadableException("cannot read its header: " + e.getMessage(), e);
        }
    }

    /** The decoded pixels. */
    static Image read(Path file) throws UnreadableException {
        if (!Files.isReadable(file)) {
            throw new UnreadableException("cannot open the file", null);
        }
        try {
            return Image.read(file);
        } catch (Sd3Exception | IllegalArgumentException e) {
            // ImageIO.read returns null (Image.read's "not an image" error) when no reader claims the file.
            String why = "webp".equals(extension(file)) && !ImageIO.getImageReadersBySuffix("webp").hasNext()
                    ? noReader(file) : "cannot decode it: " + e.getMessage();
            throw new UnreadableException(why, e);
        } catch (RuntimeException e) {
            // Some ImageIO plug-ins throw unchecked exceptions on corrupt data; one bad file must not stop a run.
            throw new UnreadableException("cannot decode it: " + e, e);
        }
    }

    private static String noReader(Path file) {
        if ("webp".equals(extension(file))) {
            return "no ImageIO reader for WebP; add a WebP ImageIO plug-in (e.g. com.twelvemonkeys.imageio:"
                    + "imageio-webp) to the class path or convert the file to PNG";
        }
        return "not an image ImageIO can read; re-save it as PNG or JPEG";
    }
}
