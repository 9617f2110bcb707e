package org.sd3j.examples.shapes;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.sd3j.GenerationRequest;
import org.sd3j.GenerationResult;
import org.sd3j.Sd3Pipeline;
import org.sd3j.image.Image;
import org.sd3j.model.Vae;

/**
 * The project's CLIP-score stand-in: generates one image per held-out caption with a pipeline, reads each back with
 * {@link SceneEvaluator} and tallies which of the caption's attributes came out right; also the Frechet distance
 * between the generated images and the generator's own renders of the same scenes, on {@link ImageFeatures}.
 *
 * <p>Deterministic: caption {@code i} is {@code captions.get(i)} and its image uses seed {@code firstSeed + i}.
 * Stateless; the pipeline is borrowed.
 */
public final class PromptAdherence {
    /**
     * Seed of the held-out captions: the default model's training data comes from another seed
     * ({@code DefaultModelRecipe}'s), so these images were never trained on (their attribute combinations mostly
     * were: there are only about 11 000).
     */
    public static final long HELD_OUT_SEED = 0x5EED_0E7A1L;
    /**
     * Seed of the validation captions, for choosing settings (guidance, steps, LoRA weights) without looking at the
     * held-out ones: neither the training data's, the held-out evaluation's nor the preference captions'.
     */
    public static final long VALIDATION_SEED = 0x7A11D_A7EL;
    /** The side of the shapes world's images (what the default model is trained at). */
    public static final int IMAGE_SIZE = 64;

    private final SceneEvaluator evaluator = new SceneEvaluator();
    private final ImageFeatures features = new ImageFeatures();
    private final SceneRenderer renderer = new SceneRenderer();

    /** What draws an image for a caption with a seed: a pipeline, or a stand-in in tests. */
    public interface Painter {
        Image draw(String caption, long seed);
    }

    /** Called after each image: its index, caption, the evaluation and the image. */
    public interface Progress {
        void onImage(int index, CaptionedScene caption, Evaluation evaluation, Image image);
    }

    /**
     * What one run measured.
     *
     * @param tally           per-attribute and per-image adherence
     * @param frechetDistance between generated and rendered images' {@link ImageFeatures}
     * @param perImage        mean wall time per generated image
     * @param evaluations     one per caption, in order
     */
    public record Result(AdherenceTally tally, double frechetDistance, Duration perImage,
                         List<Evaluation> evaluations) {
    }

    /** {@code count} held-out captions ({@link #HELD_OUT_SEED}). */
    public static List<CaptionedScene> heldOutCaptions(int count) {
        return captions(HELD_OUT_SEED, count);
    }

    /** {@code count} validation captions ({@link #VALIDATION_SEED}). */
    public static List<CaptionedScene> validationCaptions(int count) {
        return captions(VALIDATION_SEED, count);
    }

    private static List<CaptionedScene> captions(long seed, int count) {
        if (count < 2) {
            throw new IllegalArgumentException("count must be >= 2 (a Frechet distance needs two images), found "
                    + count);
        }
        return new SceneGenerator(seed).range(0, count);
    }

    /**
     * Generates and scores one image per caption.
     *
     * @param pipeline  configured with the model, encoders, steps, guidance and image size to evaluate
     * @param captions  what to draw (e.g. {@link #heldOutCaptions(int)}), at least two
     * @param firstSeed seed of the first image; image {@code i} uses {@code firstSeed + i}
     * @param saveTo    a folder to write each image into as {@code NNNNN.png} (created if missing), or null
     */
    public Result run(Sd3Pipeline pipeline, List<CaptionedScene> captions, long firstSeed, Path saveTo,
                      Progress progress) {
        Objects.requireNonNull(pipeline, "pipeline");
        return run((caption, seed) -> {
            GenerationResult result = pipeline.generate(GenerationRequest.builder(caption).seed(seed).build());
            if (saveTo != null) {
                result.writePng(0, saveTo.resolve(String.format("%05d.png", seed - firstSeed)));
            }
            return result.image();
        }, captions, firstSeed, progress);
    }

    /**
     * Scores an autoencoder's reconstructions of the captions' rendered scenes (each encoded to its latent mean and
     * decoded, no denoising): the adherence no denoiser can exceed through this autoencoder, since everything it
     * draws passes through the decoder. The Frechet distance is then the autoencoder's alone.
     *
     * @param vae      the autoencoder, borrowed
     * @param captions what to render, at least two
     * @param size     the side of the rendered images, a multiple of the autoencoder's downscale
     */
    public Result reconstructions(Vae vae, List<CaptionedScene> captions, int size, Progress progress) {
        Objects.requireNonNull(vae, "vae");
        if (size <= 0 || size % vae.latentFormat().downscale() != 0) {
            throw new IllegalArgumentException("size must be a positive multiple of the autoencoder's downscale "
                    + vae.latentFormat().downscale() + ", found " + size);
        }
        // With a first seed of 0, the seed the painter is given is the caption's index.
        return run((caption, index) -> {
            Image rendered = Image.fromBufferedImage(renderer.render(captions.get(Math.toIntExact(index)).scene(),
                    size));
            return Image.fromTensor(vae.decode(vae.encode(rendered.toTensor()).mean()), 0);
        }, captions, 0, progress);
    }

    /** {@link #run(Sd3Pipeline, List, long, Path, Progress)} with images from {@code painter}. */
    public Result run(Painter painter, List<CaptionedScene> captions, long firstSeed, Progress progress) {
        Objects.requireNonNull(painter, "painter");
        Objects.requireNonNull(progress, "progress");
        if (captions == null || captions.size() < 2) {
            throw new IllegalArgumentException("captions must hold at least 2 captions, found "
                    + (captions == null ? "null" : captions.size()));
        }
        AdherenceTally tally = new AdherenceTally();
        List<Evaluation> evaluations = new ArrayList<>();
        List<double[]> generated = new ArrayList<>();
        List<double[]> rendered = new ArrayList<>();
        long nanos = 0;
        for (int i = 0; i < captions.size(); i++) {
            CaptionedScene c = captions.get(i);
            long start = System.nanoTime();
            Image image = painter.draw(c.caption(), firstSeed + i);
            nanos += System.nanoTime() - start;
            Evaluation e = evaluator.evaluate(image, c);
            tally.add(e);
            evaluations.add(e);
            generated.add(features.of(image));
            rendered.add(features.of(renderer.render(c.scene(), image.width())));
            progress.onImage(i, c, e, image);
        }
        double fd = FrechetDistance.between(generated, rendered);
        return new Result(tally, fd, Duration.ofNanos(nanos / captions.size()), List.copyOf(evaluations));
    }

    /** Renders of {@code captions}' scenes at {@code size} px (the "real" images). */
    public List<BufferedImage> renders(List<CaptionedScene> captions, int size) {
        List<BufferedImage> out = new ArrayList<>();
        for (CaptionedScene c : captions) {
            out.add(renderer.render(c.scene(), size));
        }
        return out;
    }
}
