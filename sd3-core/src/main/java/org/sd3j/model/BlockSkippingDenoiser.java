package org.sd3j.model;

import java.util.Set;

import org.sd3j.conditioning.Conditioning;
import org.sd3j.tensor.Tensor;

/**
 * A denoiser that can run with some transformer blocks bypassed (their input passes through unchanged), as
 * skip-layer guidance needs (SPEC §2.8).
 */
public interface BlockSkippingDenoiser extends Denoiser {

    /** Number of transformer blocks; valid block indices are {@code [0, blockCount())}. */
    int blockCount();

    /**
     * Like {@link #velocity(Tensor, Tensor, Conditioning)}, with the given blocks skipped.
     *
     * @param skippedBlocks block indices in {@code [0, blockCount())}
     */
    Tensor velocitySkipping(Tensor latents, Tensor timesteps, Conditioning conditioning, Set<Integer> skippedBlocks);
}
