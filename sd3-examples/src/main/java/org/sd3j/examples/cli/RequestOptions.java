package org.sd3j.examples.cli;

import java.nio.file.Path;

import org.sd3j.GenerationRequest;
import org.sd3j.image.Image;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The generation settings of {@code sd3 generate} (a picocli mixin) and the {@link GenerationRequest} they give.
 * A setting left out is left to the model and pipeline defaults (28 steps, the guidance the model recommends or 7.0,
 * the model's shift, the pipeline's size, a random seed); the library validates the values with its own messages.
 */
final class RequestOptions {

    @Option(names = "--negative", paramLabel = "TEXT", description = "The negative prompt (default: empty).")
    String negative;

    @Option(names = "--steps", paramLabel = "N", description = "Sampling steps (default: 28).")
    Integer steps;

    @Option(names = "--guidance", paramLabel = "SCALE",
            description = "Classifier-free guidance scale; 1 or less turns it off (default: the scale the model "
                    + "recommends, else 7.0).")
    Double guidance;

    @Option(names = "--shift", paramLabel = "SHIFT",
            description = "Flow time shift (default: the model's, 3.0 for SD3).")
    Double shift;

    @Option(names = "--seed", paramLabel = "SEED",
            description = "Seed of the first image; image i of a batch uses SEED + i (default: random).")
    Long seed;

    @Option(names = "--size", paramLabel = "WxH", converter = ImageSize.Converter.class,
            description = "Image size, both sides multiples of 16, e.g. 1024x768 (default: the model's, or the "
                    + "init image's).")
    ImageSize size;

    @Option(names = "--sampler", paramLabel = "NAME", completionCandidates = SamplerNames.class,
            description = "The sampler: ${COMPLETION-CANDIDATES} (default: euler).")
    String sampler;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "1",
            description = "Images to generate at once (default: 1); written as FILE-1.png, FILE-2.png, ...")
    int batch;

    @Option(names = "--init-image", paramLabel = "FILE",
            description = "img2img: start from this image (PNG, JPEG, BMP, GIF; sides multiples of 16).")
    Path initImage;

    @Option(names = "--strength", paramLabel = "S",
            description = "img2img: the share of the schedule re-run, in (0, 1] (default: 0.6; 1.0 with --mask).")
    Double strength;

    @Option(names = "--mask", paramLabel = "FILE",
            description = "Inpainting: white repaints, black keeps; the init image's size. Needs --init-image.")
    Path mask;

    /**
     * The request for {@code prompt}: reads the images and validates everything a request can check, so that
     * mistakes show before the model loads.
     *
     * @throws ParameterException       for option combinations that make no sense (exit code 2)
     * @throws IllegalArgumentException for values the library rejects (exit code 1)
     */
    GenerationRequest toRequest(String prompt, CommandSpec spec) {
        if (mask != null && initImage == null) {
            throw new ParameterException(spec.commandLine(), "--mask requires --init-image");
        }
        if (strength != null && initImage == null) {
            throw new ParameterException(spec.commandLine(), "--strength requires --init-image");
        }
        GenerationRequest.Builder b = GenerationRequest.builder(prompt).batchSize(batch);
        if (negative != null) {
            b.negativePrompt(negative);
        }
        if (steps != null) {
            b.steps(steps);
        }
        if (guidance != null) {
            b.guidance(guidance);
        }
        if (shift != null) {
            b.shift(shift);
        }
        if (seed != null) {
            b.seed(seed);
        }
        if (size != null) {
            b.size(size.width(), size.height());
        }
        if (sampler != null) {
            b.sampler(sampler);
        }
        if (initImage != null) {
            Image init = InputImages.read("--init-image", initImage);
            if (size == null && (init.width() % 16 != 0 || init.height() % 16 != 0)) {
                throw new IllegalArgumentException("--init-image must have sides that are multiples of 16, found "
                        + init.width() + "x" + init.height() + " (" + initImage + ")");
            }
            b.initImage(init);
            if (strength != null) {
                b.strength(strength);
            }
            if (mask != null) {
                b.mask(InputImages.read("--mask", mask));
            }
        }
        return b.build();
    }
}
