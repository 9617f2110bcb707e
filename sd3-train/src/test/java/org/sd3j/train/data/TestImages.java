package org.sd3j.train.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import javax.imageio.ImageIO;

import org.sd3j.image.Image;

/** Writes small test images with seeded random 4x4-pixel blocks (distinct seeds give distinct dHashes). */
public final class TestImages {
    private TestImages() {
    }

    /** An image of {@code width x height} with random colored blocks of {@code block} pixels. */
    static Image blocks(int width, int height, long seed, int block) {
        Random r = new Random(seed);
        int bw = (width + block - 1) / block;
        int bh = (height + block - 1) / block;
        int[] colors = new int[bw * bh];
        for (int i = 0; i < colors.length; i++) {
            colors[i] = r.nextInt(1 << 24);
        }
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int c = colors[(y / block) * bw + x / block];
                int o = (y * width + x) * 3;
                rgb[o] = (byte) (c >> 16);
                rgb[o + 1] = (byte) (c >> 8);
                rgb[o + 2] = (byte) c;
            }
        }
        return Image.of(width, height, rgb);
    }

    static Image blocks(int width, int height, long seed) {
        return blocks(width, height, seed, 4);
    }

    /** Writes {@code image} in the format of {@code file}'s extension (png, jpg, bmp). */
    static Path write(Path file, Image image) {
        String name = file.getFileName().toString();
        String format = name.substring(name.lastIndexOf('.') + 1).toLowerCase(java.util.Locale.ROOT);
        if (format.equals("jpg")) {
            format = "jpeg";
        }
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            BufferedImage img = image.toBufferedImage();
            if (!ImageIO.write(img, format, file.toFile())) {
                throw new IllegalStateException("no ImageIO writer for " + format);
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes a random-block image and its {@code .txt} caption sidecar. */
    public static Path withCaption(Path dir, String name, int width, int height, long seed, String caption) {
        Path file = write(dir.resolve(name), blocks(width, height, seed));
        String base = file.getFileName().toString();
        text(file.resolveSibling(base.substring(0, base.lastIndexOf('.')) + ".txt"), caption);
        return file;
    }

    static Path text(Path file, String content) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            return Files.writeString(file, content, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
