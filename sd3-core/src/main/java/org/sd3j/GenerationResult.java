package org.sd3j;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.sd3j.image.Image;
import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * The outcome of a generation: images (when the pipeline has a VAE), the final latents, the seeds used and
 * timings. Immutable.
 */
public final class GenerationResult {
    private final List<Image> images;
    private final Tensor latents;
    private final long seed;
    private final Timings timings;
    private final List<String> parameters;

    GenerationResult(List<Image> images, Tensor latents, long seed, Timings timings, List<String> parameters) {
        this.images = List.copyOf(images);
        this.latents = latents;
        this.seed = seed;
        this.timings = timings;
        this.parameters = List.copyOf(parameters);
    }

    /** The decoded images, one per batch item; empty when the pipeline has no VAE. */
    public List<Image> images() {
        return images;
    }

    /** The first image. */
    public Image image() {
        if (images.isEmpty()) {
            throw new IllegalStateException("This pipeline has no VAE, so the result holds latents only; add one with"
                    + " Sd3Pipeline.builder().vae(...)");
        }
        return images.get(0);
    }

    /** A copy of the final latents {@code [B, C, h, w]} in the denoiser's space. */
    public Tensor latents() {
        return latents.copy();
    }

    /** Seed of batch item 0 (the one given, or the one drawn when none was). */
    public long seed() {
        return seed;
    }

    /** Seed of batch item {@code index}: {@code seed() + index}. */
    public long seed(int index) {
        checkIndex(index);
        return seed + index;
    }

    public int batchSize() {
        return latents.dim(0);
    }

    public Timings timings() {
        return timings;
    }

    /**
     * The A1111-style parameters text of batch item {@code index}: prompt, negative prompt, then
     * {@code Steps: 28, Sampler: euler, CFG scale: 7.0, Seed: 42, Size: 1024x1024, Shift: 3.0, Model: ...}.
     */
    public String parameters(int index) {
        checkIndex(index);
        return parameters.get(index);
    }

    private void checkIndex(int index) {
        if (index < 0 || index >= batchSize()) {
            throw Checks.fail("index", "in [0, " + batchSize() + ")", index);
        }
    }

    /** Writes image {@code index} as a PNG with its {@link #parameters(int)} in a {@code parameters} text chunk. */
    public void writePng(int index, Path path) {
        image();
        if (index < 0 || index >= images.size()) {
            throw Checks.fail("index", "in [0, " + images.size() + ")", index);
        }
        images.get(index).writePng(path, Map.of("parameters", parameters(index)));
    }

    @Override
    public String toString() {
        return "GenerationResult[" + batchSize() + " x " + latents + ", seed " + seed + ", " + timings + "]";
    }
}
