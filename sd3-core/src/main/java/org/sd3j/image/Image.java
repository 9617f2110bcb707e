package org.sd3j.image;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import org.sd3j.ModelLoadException;
import org.sd3j.Sd3Exception;
import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * An 8-bit RGB image. Immutable and thread-safe.
 *
 * <p>Conversions follow SPEC §4: a decoded tensor in [-1, 1] becomes {@code round(clamp(x/2 + 0.5, 0, 1) * 255)};
 * an image becomes {@code value/127.5 - 1} for the VAE encoder.
 */
public final class Image {
    private final int width;
    private final int height;
    private final byte[] rgb;

    private Image(int width, int height, byte[] rgb) {
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    /** An image from interleaved RGB bytes ({@code width * height * 3}, row-major), copied. */
    public static Image of(int width, int height, byte[] rgb) {
        Checks.atLeast(width, 1, "width");
        Checks.atLeast(height, 1, "height");
        Checks.notNull(rgb, "rgb");
        long expected = (long) width * height * 3;
        if (rgb.length != expected) {
            throw Checks.fail("rgb.length", expected + " for " + width + "x" + height + " RGB", rgb.length);
        }
        return new Image(width, height, rgb.clone());
    }

    /** Converts a {@link BufferedImage} of any type to RGB (alpha is dropped). */
    public static Image fromBufferedImage(BufferedImage image) {
        Checks.notNull(image, "image");
        int w = image.getWidth();
        int h = image.getHeight();
        byte[] rgb = new byte[w * h * 3];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int p = row[x];
                int o = (y * w + x) * 3;
                rgb[o] = (byte) (p >> 16);
                rgb[o + 1] = (byte) (p >> 8);
                rgb[o + 2] = (byte) p;
            }
        }
        return new Image(w, h, rgb);
    }

    /** Reads a PNG, JPEG or any other format ImageIO knows. */
    public static Image read(Path path) {
        Checks.notNull(path, "path");
        try {
            BufferedImage img = ImageIO.read(path.toFile());
            if (img == null) {
                throw new ModelLoadException(path, "not an image in a format ImageIO can read (expected PNG, JPEG, BMP"
                        + " or GIF)");
            }
            return fromBufferedImage(img);
        } catch (IOException e) {
            throw new ModelLoadException(path, "cannot read image: " + e.getMessage(), e);
        }
    }

    /**
     * Item {@code index} of a decoded batch {@code [B, 3, H, W]} in [-1, 1].
     */
    public static Image fromTensor(Tensor images, int index) {
        Checks.notNull(images, "images");
        if (images.rank() != 4 || images.dim(1) != 3) {
            throw Checks.fail("images", "[B, 3, H, W]", images);
        }
        if (index < 0 || index >= images.dim(0)) {
            throw Checks.fail("index", "in [0, " + images.dim(0) + ")", index);
        }
        int h = images.dim(2);
        int w = images.dim(3);
        int plane = h * w;
        int base = index * 3 * plane;
        byte[] rgb = new byte[plane * 3];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i++) {
                float v = images.get(base + c * plane + i) / 2f + 0.5f;
                // NaN maps to 0 rather than to an arbitrary byte.
                float clamped = v >= 0f ? Math.min(v, 1f) : 0f;
                rgb[i * 3 + c] = (byte) Math.round(clamped * 255f);
            }
        }
        return new Image(w, h, rgb);
    }

    /** Every item of a decoded batch {@code [B, 3, H, W]}. */
    public static List<Image> fromBatch(Tensor images) {
        List<Image> out = new ArrayList<>();
        for (int i = 0; i < images.dim(0); i++) {
            out.add(fromTensor(images, i));
        }
        return List.copyOf(out);
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** Packed {@code 0xRRGGBB} at (x, y). */
    public int rgb(int x, int y) {
        if (x < 0 || x >= width || y < 0 || y >= height) {
            throw new IndexOutOfBoundsException("(" + x + ", " + y + ") is outside " + width + "x" + height);
        }
        int o = (y * width + x) * 3;
        return (rgb[o] & 0xff) << 16 | (rgb[o + 1] & 0xff) << 8 | (rgb[o + 2] & 0xff);
    }

    /** A copy of the interleaved RGB bytes. */
    public byte[] toRgbBytes() {
        return rgb.clone();
    }

    /** {@code [1, 3, H, W]} in [-1, 1] ({@code value/127.5 - 1}), the VAE encoder's input. */
    public Tensor toTensor() {
        int plane = width * height;
        Tensor t = Tensor.zeros(1, 3, height, width);
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i++) {
                t.set(c * plane + i, (rgb[i * 3 + c] & 0xff) / 127.5f - 1f);
            }
        }
        return t;
    }

    /** Per-pixel mean of the three channels in [0, 1], row-major {@code [H, W]}: how masks are read. */
    public Tensor toGray() {
        Tensor t = Tensor.zeros(height, width);
        for (int i = 0; i < width * height; i++) {
            int sum = (rgb[i * 3] & 0xff) + (rgb[i * 3 + 1] & 0xff) + (rgb[i * 3 + 2] & 0xff);
            t.set(i, sum / (3f * 255f));
        }
        return t;
    }

    public BufferedImage toBufferedImage() {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                row[x] = rgb(x, y);
            }
            img.setRGB(0, y, width, 1, row, 0, width);
        }
        return img;
    }

    /** Writes a PNG (to a temp file beside {@code path}, then moved over it). */
    public void writePng(Path path) {
        writePng(path, Map.of());
    }

    /**
     * Writes a PNG with text chunks (tEXt for Latin-1 text, iTXt UTF-8 otherwise), to a temp file beside
     * {@code path} that is then moved over it, so a failure never leaves a half-written file.
     */
    public void writePng(Path path, Map<String, String> text) {
        PngWriter.write(this, path, text);
    }

    /** Reads the text chunks (tEXt, zTXt, iTXt) of a PNG file: e.g. the {@code parameters} a generation wrote. */
    public static Map<String, String> readPngText(Path path) {
        return PngWriter.readText(path);
    }

    @Override
    public String toString() {
        return "Image[" + width + "x" + height + "]";
    }

    static Sd3Exception ioFailure(Path path, String action, IOException e) {
        return new Sd3Exception("Cannot " + action + " " + path + ": " + e.getMessage(), e);
    }
}
