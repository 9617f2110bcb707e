package org.sd3j.onnx.model;

import org.sd3j.image.Image;

/** Test images for the end-to-end tests. */
final class CombinedCheckpointImages {
    private CombinedCheckpointImages() {
    }

    /** White (repaint) on the left half, black (keep) on the right. */
    static Image leftHalfMask(int width, int height) {
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width / 2; x++) {
                int i = (y * width + x) * 3;
                rgb[i] = rgb[i + 1] = rgb[i + 2] = (byte) 255;
            }
        }
        return Image.of(width, height, rgb);
    }
}
