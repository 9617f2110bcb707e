package org.sd3j.examples.cli;

import org.sd3j.train.data.AspectBuckets;
import picocli.CommandLine.Option;

/**
 * The training-size options of {@code sd3 train} and {@code sd3 dpo} (a picocli mixin): aspect-ratio buckets of
 * about {@code --resolution}^2 pixels with sides multiple of {@code --bucket-step}.
 */
final class BucketOptions {
    @Option(names = "--resolution", paramLabel = "N", defaultValue = "512",
            description = "Training size: buckets of about NxN pixels in several aspect ratios "
                    + "(default: ${DEFAULT-VALUE}).")
    int resolution;

    @Option(names = "--bucket-step", paramLabel = "N", defaultValue = "64",
            description = "Bucket sides are multiples of N, a multiple of 16 (default: ${DEFAULT-VALUE}).")
    int bucketStep;

    void validate(OptionChecks checks) {
        if (bucketStep < 16 || bucketStep % 16 != 0) {
            throw checks.fail("--bucket-step", "a positive multiple of 16", bucketStep);
        }
        if (resolution < bucketStep || resolution % bucketStep != 0) {
            throw checks.fail("--resolution", "a positive multiple of --bucket-step (" + bucketStep + ")",
                    resolution);
        }
    }

    AspectBuckets buckets() {
        return AspectBuckets.of(resolution, bucketStep);
    }
}
