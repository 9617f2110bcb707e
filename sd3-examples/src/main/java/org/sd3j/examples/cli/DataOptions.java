package org.sd3j.examples.cli;

import java.nio.file.Path;

import org.sd3j.train.data.AspectBuckets;
import org.sd3j.train.data.CachedDataset;

import picocli.CommandLine.Option;

/**
 * The data options of {@code sd3 train} (a picocli mixin): the dataset folder, its precompute cache, the bucket
 * sizes, the batch size and the dropout rates.
 */
final class DataOptions {
    /** The cache's default folder inside the dataset: hidden, so the dataset scan leaves it out. */
    static final String DEFAULT_CACHE = ".sd3j-cache";

    @Option(names = "--data", paramLabel = "DIR",
            description = "The dataset: a folder of images (png, jpg, bmp, webp; sub-folders too) with captions in "
                    + "<name>.txt beside each or in a metadata.jsonl.")
    Path folder;

    @Option(names = "--cache", paramLabel = "DIR",
            description = "Where the precomputed latents and text encodings go (default: DATA/" + DEFAULT_CACHE
                    + "); reused while the model, the images, their captions and sizes stay the same.")
    Path cache;

    @Option(names = "--resolution", paramLabel = "N", defaultValue = "512",
            description = "Training size: buckets of about NxN pixels in several aspect ratios "
                    + "(default: ${DEFAULT-VALUE}).")
    int resolution;

    @Option(names = "--bucket-step", paramLabel = "N", defaultValue = "64",
            description = "Bucket sides are multiples of N, a multiple of 16 (default: ${DEFAULT-VALUE}).")
    int bucketStep;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "1",
            description = "Images per batch, all from one bucket (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--caption-dropout", paramLabel = "P", defaultValue = "0",
            description = "Probability of training an image with the empty caption (default: ${DEFAULT-VALUE}).")
    double captionDropout;

    @Option(names = "--encoder-dropout", paramLabel = "P", defaultValue = "0.464",
            description = "Probability of dropping each text encoder's part of the conditioning, per image "
                    + "(default: ${DEFAULT-VALUE}, SD3's).")
    double encoderDropout;

    void validate(OptionChecks checks) {
        if (bucketStep < 16 || bucketStep % 16 != 0) {
            throw checks.fail("--bucket-step", "a positive multiple of 16", bucketStep);
        }
        if (resolution < bucketStep || resolution % bucketStep != 0) {
            throw checks.fail("--resolution", "a positive multiple of --bucket-step (" + bucketStep + ")",
                    resolution);
        }
        checks.atLeast("--batch", batch, 1);
        checks.probability("--caption-dropout", captionDropout);
        checks.probability("--encoder-dropout", encoderDropout);
    }

    AspectBuckets buckets() {
        return AspectBuckets.of(resolution, bucketStep);
    }

    /** {@code --cache}, or the dataset's {@value #DEFAULT_CACHE}. */
    Path cacheFolder() {
        return cache != null ? cache : folder.resolve(DEFAULT_CACHE);
    }

    /** How batches are drawn from the cache, seeded with the run's seed. */
    CachedDataset.Options batches(long seed) {
        return CachedDataset.Options.builder().batchSize(batch).seed(seed).captionDropout(captionDropout)
                .encoderDropout(encoderDropout).build();
    }
}
