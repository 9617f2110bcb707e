package org.sd3j.train.vae;

import java.util.List;

import org.sd3j.image.Image;
import org.sd3j.internal.Checks;
import org.sd3j.model.Vae;
import org.sd3j.tensor.Tensor;

/**
 * How well an autoencoder reconstructs a set of images: each image is encoded, its posterior mean (no sampling)
 * decoded, and the result turned back into 8-bit pixels as the pipeline does (SPEC §4: {@code x/2 + 0.5}, clamp to
 * [0, 1], times 255, rounded); errors are measured against the original 8-bit values.
 *
 * <pre>
 *   mse  = mean over every pixel and channel of every image of (decoded - original)^2      (0..255 scale)
 *   psnr = 10 log10(255^2 / mse)                                                           (dB)
 * </pre>
 * {@code psnr} pools the squared errors of all images; {@code worstImagePsnr} is the lowest single-image PSNR (an
 * exact reconstruction has an infinite one).
 *
 * @param images         how many images were measured
 * @param mse            mean squared error on the 0..255 scale
 * @param psnr           peak signal-to-noise ratio of {@code mse}, in dB
 * @param worstImagePsnr the lowest per-image PSNR, in dB
 */
public record ReconstructionMetrics(int images, double mse, double psnr, double worstImagePsnr) {

    /**
     * Measures {@code vae} on {@code images} (all of one size, a multiple of the downscale factor), {@code batchSize}
     * at a time.
     *
     * @throws IllegalArgumentException for no images, images of different sizes, or a batch size below 1
     */
    public static ReconstructionMetrics measure(Vae vae, List<Image> images, int batchSize) {
        Checks.notNull(vae, "vae");
        Checks.notNull(images, "images");
        Checks.atLeast(batchSize, 1, "batchSize");
        if (images.isEmpty()) {
            throw Checks.fail("images", "non-empty", "none");
        }
        double total = 0;
        long values = 0;
        double worst = Double.POSITIVE_INFINITY;
        for (int start = 0; start < images.size(); start += batchSize) {
            List<Image> part = images.subList(start, Math.min(images.size(), start + batchSize));
            Tensor decoded = vae.decode(vae.encode(ImageBatch.of(part)).mean());
            for (int b = 0; b < part.size(); b++) {
                byte[] original = part.get(b).toRgbBytes();
                byte[] restored = Image.fromTensor(decoded, b).toRgbBytes();
                double sum = 0;
                for (int i = 0; i < original.length; i++) {
                    double d = (original[i] & 0xff) - (restored[i] & 0xff);
                    sum += d * d;
                }
                total += sum;
                values += original.length;
                worst = Math.min(worst, psnr(sum / original.length));
            }
        }
        double mse = total / values;
        return new ReconstructionMetrics(images.size(), mse, psnr(mse), worst);
    }

    /** {@code 10 log10(255^2 / mse)}: infinite for 0. */
    static double psnr(double mse) {
        return 10 * Math.log10(255.0 * 255.0 / mse);
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "PSNR %.2f dB (MSE %.2f, worst image %.2f dB, %d images)", psnr,
                mse, worstImagePsnr, images);
    }
}
