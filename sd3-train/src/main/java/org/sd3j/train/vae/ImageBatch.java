package org.sd3j.train.vae;

import java.util.List;

import org.sd3j.image.Image;
import org.sd3j.tensor.Tensor;

/** Images as the encoder takes them. Stateless. */
final class ImageBatch {
    private ImageBatch() {
    }

    /**
     * {@code [B, 3, H, W]} in [-1, 1] ({@link Image#toTensor()} of each).
     *
     * @throws IllegalArgumentException if the images differ in size
     */
    static Tensor of(List<Image> images) {
        Image first = images.get(0);
        Tensor[] parts = new Tensor[images.size()];
        for (int b = 0; b < parts.length; b++) {
            Image image = images.get(b);
            if (image.width() != first.width() || image.height() != first.height()) {
                throw new IllegalArgumentException("images must all be " + first.width() + "x" + first.height()
                        + ", found " + image.width() + "x" + image.height() + " at index " + b);
            }
            parts[b] = image.toTensor();
        }
        return Tensor.concat(0, parts);
    }
}
