package org.sd3j.examples.cli;

import java.nio.file.Path;

import org.sd3j.train.data.AspectBuckets;
import org.sd3j.train.data.CachedDataset;

import picocli.CommandLine.Mixin;
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

    @Mixin
    BucketOptions size;

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
        size.validate(checks);
        checks.atLeast("--batch", batch, 1);
        checks.probability("--caption-dropout", captionDropout);
        checks.probability("--encoder-dropout", encoderDropout);
    }

    AspectBuckets buckets() {
        return size.buckets();
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
