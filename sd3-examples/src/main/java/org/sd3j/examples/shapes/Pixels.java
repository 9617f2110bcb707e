package org.sd3j.examples.shapes;

import java.awt.image.BufferedImage;

import org.sd3j.image.Image;
import org.sd3j.internal.Checks;

/** An RGB image as packed {@code 0xRRGGBB} ints, row-major: what the readers work on. Immutable once built. */
final class Pixels {
    final int width;
    final int height;
    final int[] rgb;

    private Pixels(int width, int height, int[] rgb) {
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    static Pixels of(BufferedImage image) {
        Checks.notNull(image, "image");
        int w = image.getWidth();
        int h = image.getHeight();
        int[] rgb = image.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] &= 0xffffff;
        }
        return checked(w, h, rgb);
    }

    static Pixels of(Image image) {
        Checks.notNull(image, "image");
        int w = image.width();
        int h = image.height();
        byte[] bytes = image.toRgbBytes();
        int[] rgb = new int[w * h];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (bytes[3 * i] & 0xff) << 16 | (bytes[3 * i + 1] & 0xff) << 8 | (bytes[3 * i + 2] & 0xff);
        }
        return checked(w, h, rgb);
    }

    /** Packed {@code 0xRRGGBB} pixels, copied. */
    static Pixels of(int width, int height, int[] rgb) {
        Checks.notNull(rgb, "rgb");
        if (width < 1 || height < 1 || (long) width * height != rgb.length) {
            throw new IllegalArgumentException("rgb.length must be width * height (" + width + " x " + height
                    + "), found " + rgb.length);
        }
        int[] copy = new int[rgb.length];
        for (int i = 0; i < rgb.length; i++) {
            copy[i] = rgb[i] & 0xffffff;
        }
        return checked(width, height, copy);
    }

    private static Pixels checked(int width, int height, int[] rgb) {
        if (width < SceneRenderer.MIN_SIZE || height < SceneRenderer.MIN_SIZE) {
            throw new IllegalArgumentException("image must be at least " + SceneRenderer.MIN_SIZE + " px on each side,"
                    + " found " + width + "x" + height);
        }
        return new Pixels(width, height, rgb);
    }

    static int red(int rgb) {
        return (rgb >> 16) & 0xff;
    }

    static int green(int rgb) {
        return (rgb >> 8) & 0xff;
    }

    static int blue(int rgb) {
        return rgb & 0xff;
    }
}
