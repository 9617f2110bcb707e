package org.sd3j.train.data;

import org.sd3j.image.Image;
import org.sd3j.internal.Checks;

/**
 * A 64-bit difference hash (dHash) of an image: the luma is area-averaged down to 9 x 8 and bit {@code 8*y + x} is
 * set where pixel {@code (x, y)} is brighter than its right neighbour. Resizing, recompression and small edits move
 * few bits, so images whose hashes differ in at most a handful of bits ({@link #distance}) are near duplicates.
 *
 * <p>Limitation: the hash sees only horizontal brightness changes at 9 x 8, so images without any (a flat color, a
 * vertical gradient) all hash to 0 and count as duplicates of one another.
 *
 * <p>Stateless and thread-safe.
 */
public final class PerceptualHash {
    private static final int COLUMNS = 9;
    private static final int ROWS = 8;

    private PerceptualHash() {
    }

    /** The image's 64-bit dHash. */
    public static long dHash(Image image) {
        Checks.notNull(image, "image");
        int w = image.width();
        int h = image.height();
        byte[] rgb = image.toRgbBytes();
        float[] luma = new float[w * h];
        for (int i = 0; i < luma.length; i++) {
            // ITU-R BT.601 luma, as PIL's convert("L") and the imagehash package use.
            luma[i] = 0.299f * (rgb[i * 3] & 0xff) + 0.587f * (rgb[i * 3 + 1] & 0xff) + 0.114f * (rgb[i * 3 + 2] & 0xff);
        }
        float[] small = Resampler.resample(luma, w, h, 0, 0, w, h, COLUMNS, ROWS);
        long hash = 0;
        for (int y = 0; y < ROWS; y++) {
            for (int x = 0; x < COLUMNS - 1; x++) {
                if (small[y * COLUMNS + x] > small[y * COLUMNS + x + 1]) {
                    hash |= 1L << (y * (COLUMNS - 1) + x);
                }
            }
        }
        return hash;
    }

    /** Hamming distance: the number of bits in which two hashes differ (0 to 64). */
    public static int distance(long a, long b) {
        return Long.bitCount(a ^ b);
    }
}
