package org.sd3j.examples.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where {@code sd3 generate} writes its images: the {@code --output} file, by default {@code sd3-<seed>.png} in
 * the current folder; for a batch, one file per image with {@code -1}, {@code -2}, ... inserted before the
 * extension ({@code fox.png} -> {@code fox-1.png}, {@code fox-2.png}).
 */
final class OutputFiles {
    private OutputFiles() {
    }

    /**
     * Checks the requested name before any work is done: it must be a PNG file name ({@code .png}, or no extension).
     *
     * @throws IllegalArgumentException for another extension
     */
    static void check(Path requested) {
        if (requested == null) {
            return;
        }
        String ext = extension(requested);
        if (!ext.isEmpty() && !ext.equalsIgnoreCase(".png")) {
            throw new IllegalArgumentException("--output must be a .png file, found " + requested);
        }
    }

    /** The {@code count} files to write for a result whose first image has seed {@code seed}. */
    static List<Path> paths(Path requested, long seed, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be >= 1, found " + count);
        }
        Path base = requested != null ? requested : Path.of(String.format(Locale.ROOT, "sd3-%d.png", seed));
        if (count == 1) {
            return List.of(base);
        }
        String name = base.getFileName().toString();
        String ext = extension(base);
        String stem = name.substring(0, name.length() - ext.length());
        List<Path> out = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            out.add(base.resolveSibling(stem + "-" + i + ext));
        }
        return List.copyOf(out);
    }

    /** {@code .png} of {@code fox.png}; empty for {@code fox} or {@code .hidden}. */
    private static String extension(Path p) {
        Path file = p.getFileName();
        String name = file == null ? "" : file.toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(dot) : "";
    }
}
