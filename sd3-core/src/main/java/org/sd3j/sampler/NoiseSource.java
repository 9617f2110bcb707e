package org.sd3j.sampler;

import org.sd3j.tensor.Tensor;

/**
 * Standard normal noise for one generation run. The pipeline's implementation draws batch item {@code i} from
 * its own torch-compatible generator seeded with {@code seed + i}. Not thread-safe: confined to its run.
 */
@FunctionalInterface
public interface NoiseSource {

    /** Overwrites {@code target} ({@code [B, ...]}) with fresh N(0, 1) samples. */
    void fillNormal(Tensor target);
}
