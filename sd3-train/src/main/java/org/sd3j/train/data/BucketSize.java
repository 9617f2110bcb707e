package org.sd3j.train.data;

import org.sd3j.internal.Checks;

/**
 * A training image size in pixels: every image of a bucket is resized and center-cropped to it, so a batch drawn
 * from one bucket stacks into {@code [B, 3, height, width]} (latents {@code [B, C, height/f, width/f]}).
 *
 * @param width  pixels, a positive multiple of 16 (VAE downscale 8 times the MMDiT's 2x2 patches)
 * @param height pixels, a positive multiple of 16
 */
public record BucketSize(int width, int height) implements Comparable<BucketSize> {
    public BucketSize {
        Checks.multipleOf16(width, "width");
        Checks.multipleOf16(height, "height");
    }

    /**
     * Parses {@code "WxH"} (as {@link #toString()} writes it).
     *
     * @throws IllegalArgumentException for any other text
     */
    public static BucketSize parse(String text) {
        Checks.notNull(text, "text");
        int x = text.indexOf('x');
        if (x <= 0 || x == text.length() - 1) {
            throw Checks.fail("bucket size", "WIDTHxHEIGHT", "'" + text + "'");
        }
        try {
            return new BucketSize(Integer.parseInt(text.substring(0, x)), Integer.parseInt(text.substring(x + 1)));
        } catch (NumberFormatException e) {
            throw Checks.fail("bucket size", "WIDTHxHEIGHT", "'" + text + "'");
        }
    }

    /** Width over height. */
    public double aspectRatio() {
        return (double) width / height;
    }

    /** Pixel count. */
    public int area() {
        return width * height;
    }

    /** Orders by aspect ratio (tall to wide), then by area; the order {@link AspectBuckets} lists buckets in. */
    @Override
    public int compareTo(BucketSize o) {
        int byAspect = Long.compare((long) width * o.height, (long) o.width * height);
        return byAspect != 0 ? byAspect : Integer.compare(area(), o.area());
    }

    @Override
    public String toString() {
        return width + "x" + height;
    }
}
