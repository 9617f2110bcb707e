package org.sd3j.train.data;

import org.sd3j.internal.Checks;

/**
 * One precomputed image-caption pair of a {@link PrecomputeCache}.
 *
 * @param index  its position in the cache (0-based, in the dataset's sorted order of the items that were cached)
 * @param file   its safetensors file, relative to the cache folder ({@code items/000042.safetensors})
 * @param source the image's path relative to the dataset folder
 * @param bucket the size the image was cropped to; the latents are {@code [C, height/f, width/f]}
 */
public record CachedItem(int index, String file, String source, BucketSize bucket) {
    public CachedItem {
        Checks.atLeast(index, 0, "index");
        Checks.notNull(file, "file");
        Checks.notNull(source, "source");
        Checks.notNull(bucket, "bucket");
    }
}
