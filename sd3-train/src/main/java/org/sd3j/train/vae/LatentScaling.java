package org.sd3j.train.vae;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.image.Image;
import org.sd3j.internal.Checks;
import org.sd3j.model.Vae;
import org.sd3j.onnx.vae.VaeConfig;
import org.sd3j.onnx.vae.VaeFileConfig;
import org.sd3j.tensor.Tensor;

/**
 * An autoencoder's latent normalization as SD3 applies it (SPEC §4): the denoiser sees
 * {@code (z - shift) * scaling} and the decoder gets {@code z / scaling + shift}, so that the denoiser's latents have
 * mean 0 and standard deviation 1. SD3's own are 1.5305 and 0.0609.
 *
 * <p>{@link #measure} derives them from data as SD3 (and LDM before it, with the shift fixed at 0) did: {@code shift}
 * is the mean of the encoder's latent means over every element (channels pooled: one scalar, as the pipeline
 * applies it) of a sample of images, and {@code scaling} is 1 over their standard deviation about that mean. The
 * posterior means are used rather than samples: with the small KL weight of SD3-style training the posterior
 * variance is negligible next to the spread of the means.
 *
 * @param scalingFactor finite and positive
 * @param shiftFactor   finite
 */
public record LatentScaling(double scalingFactor, double shiftFactor) {
    /** Metadata key of the scaling factor (diffusers' config name, read by {@code OnnxVae.load}). */
    public static final String SCALING_KEY = VaeFileConfig.SCALING_FACTOR;
    /** Metadata key of the shift factor. */
    public static final String SHIFT_KEY = VaeFileConfig.SHIFT_FACTOR;

    public LatentScaling {
        Checks.finitePositive(scalingFactor, "scalingFactor");
        Checks.finite(shiftFactor, "shiftFactor");
    }

    /**
     * Measures the scaling and shift of {@code vae}'s latents over {@code images} (all of one size, a multiple of
     * the downscale), encoded {@code batchSize} at a time.
     *
     * @throws IllegalArgumentException for no images, a batch size below 1, or latents without spread
     */
    public static LatentScaling measure(Vae vae, List<Image> images, int batchSize) {
        Checks.notNull(vae, "vae");
        Checks.notNull(images, "images");
        Checks.atLeast(batchSize, 1, "batchSize");
        if (images.isEmpty()) {
            throw Checks.fail("images", "non-empty", "none");
        }
        // Welford's running mean and variance: one pass, no cancellation (equal values give exactly 0).
        double shift = 0;
        double m2 = 0;
        long n = 0;
        for (int start = 0; start < images.size(); start += batchSize) {
            Tensor batch = ImageBatch.of(images.subList(start, Math.min(images.size(), start + batchSize)));
            Tensor mean = vae.encode(batch).mean();
            for (int i = 0; i < mean.size(); i++) {
                double v = mean.get(i);
                n++;
                double delta = v - shift;
                shift += delta / n;
                m2 += delta * (v - shift);
            }
        }
        double variance = m2 / n;
        if (!(variance > 0) || !Double.isFinite(variance)) {
            throw new IllegalArgumentException("latents must vary to be normalized, found variance " + variance
                    + " over " + n + " values");
        }
        return new LatentScaling(1 / Math.sqrt(variance), shift);
    }

    /** {@code config} with these factors. */
    public VaeConfig applyTo(VaeConfig config) {
        return Checks.notNull(config, "config").withLatentScaling(scalingFactor, shiftFactor);
    }

    /** The factors as file metadata ({@link #SCALING_KEY}, {@link #SHIFT_KEY}), shortest round-trip decimal text. */
    public Map<String, String> toMetadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(SCALING_KEY, Double.toString(scalingFactor));
        m.put(SHIFT_KEY, Double.toString(shiftFactor));
        return m;
    }

    /**
     * The factors from file metadata written by {@link #toMetadata()}.
     *
     * @throws IllegalArgumentException if a key is missing or not a number
     */
    public static LatentScaling fromMetadata(Map<String, String> metadata) {
        Checks.notNull(metadata, "metadata");
        return new LatentScaling(number(metadata, SCALING_KEY), number(metadata, SHIFT_KEY));
    }

    private static double number(Map<String, String> metadata, String key) {
        String text = metadata.get(key);
        if (text == null) {
            throw Checks.fail("metadata", "an entry '" + key + "'", metadata.keySet());
        }
        try {
            return Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw Checks.fail("metadata['" + key + "']", "a number", text);
        }
    }
}
