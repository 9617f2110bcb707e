package org.sd3j.train.data;

/**
 * The elements of a row-major tensor read by flat index, wherever they live: a {@link org.sd3j.tensor.Tensor}
 * ({@code tensor::get}) or a cache file's mapped bytes ({@link CachedTensor}). Lets batch assembly copy either
 * straight into its buffers.
 */
@FunctionalInterface
interface FloatSource {
    float get(int index);
}
