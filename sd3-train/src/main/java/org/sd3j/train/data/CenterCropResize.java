package org.sd3j.train.data;

import org.sd3j.image.Image;
import org.sd3j.internal.Checks;

/**
 * Resizes an image to cover a training size and center-crops it (the preprocessing of SD3 fine-tuning scripts:
 * torchvision's {@code Resize(smaller side)} then {@code CenterCrop}), in one deterministic pass.
 *
 * <p>The scale is {@code s = max(W/w, H/h)} for a {@code w x h} image and a {@code W x H} target, so the resized
 * image covers the target and the excess of one side is cropped equally from both ends. The crop offset is rounded
 * to whole pixels of the resized image (as torchvision rounds it), so an image that needs no scaling is cropped
 * without any blur. Downscaling averages areas, upscaling ({@code s > 1}) is bilinear; see {@link Resampler}.
 * Results are rounded to 8 bits.
 *
 * <p>Stateless and thread-safe.
 */
public final class CenterCropResize {
    private CenterCropResize() {
    }

    /**
     * The factor {@link #apply} scales a {@code width x height} image by to cover {@code target}; above 1 means
     * upscaling (the image is smaller than the target on at least one side).
     */
    public static double coverScale(int width, int height, BucketSize target) {
        Checks.atLeast(width, 1, "width");
        Checks.atLeast(height, 1, "height");
        Checks.notNull(target, "target");
        return Math.max((double) target.width() / width, (double) target.height() / height);
    }

    /**
     * The image resized to cover {@code target} and center-cropped to exactly {@code target}'s size.
     *
     * @return a new image of {@code target.width() x target.height()}
     */
    public static Image apply(Image image, BucketSize target) {
        Checks.notNull(image, "image");
        int w = image.width();
        int h = image.height();
        double scale = coverScale(w, h, target);
        int outW = target.width();
        int outH = target.height();
        double left = Math.round((w * scale - outW) / 2) / scale;
        double top = Math.round((h * scale - outH) / 2) / scale;
        double windowW = outW / scale;
        double windowH = outH / scale;

        byte[] rgb = image.toRgbBytes();
        byte[] out = new byte[outW * outH * 3];
        float[] plane = new float[w * h];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane.length; i++) {
                plane[i] = rgb[i * 3 + c] & 0xff;
            }
            float[] resized = Resampler.resample(plane, w, h, left, top, windowW, windowH, outW, outH);
            for (int i = 0; i < resized.length; i++) {
                out[i * 3 + c] = (byte) Math.round(Math.min(Math.max(resized[i], 0f), 255f));
            }
        }
        return Image.of(outW, outH, out);
    }
}
