package org.sd3j.testing;

import java.util.Set;

import org.sd3j.conditioning.Conditioning;
import org.sd3j.model.BlockSkippingDenoiser;
import org.sd3j.tensor.Tensor;

/**
 * A {@link FakeDenoiser} that can skip blocks, for skip-layer guidance tests. Both kinds of call are recorded
 * in the same list; a skipping call has non-empty {@link FakeDenoiser.Call#skippedBlocks()}.
 *
 * <pre>{@code
 * FakeBlockSkippingDenoiser denoiser = FakeDenoiser.builder()
 *         .field(VelocityField.constant(1f))
 *         .skippingField((latents, t, c, blocks) -> Tensor.zeros(latents.shape()))
 *         .blockCount(12)
 *         .buildBlockSkipping();
 * }</pre>
 */
public final class FakeBlockSkippingDenoiser extends FakeDenoiser implements BlockSkippingDenoiser {

    /** The velocity with blocks skipped; same contract as {@link BlockSkippingDenoiser#velocitySkipping}. */
    @FunctionalInterface
    public interface SkippingField {
        Tensor velocity(Tensor latents, Tensor timesteps, Conditioning conditioning, Set<Integer> skippedBlocks);
    }

    private final int blockCount;
    private final SkippingField skippingField;

    FakeBlockSkippingDenoiser(Builder builder, int blockCount, SkippingField skippingField) {
        super(builder);
        this.blockCount = blockCount;
        this.skippingField = skippingField;
    }

    @Override
    public int blockCount() {
        return blockCount;
    }

    /**
     * Records the call with its skipped blocks, then returns the skipping field's velocity.
     *
     * @throws IllegalArgumentException when {@code skippedBlocks} is empty or holds an index outside
     *                                  {@code [0, blockCount())}
     */
    @Override
    public Tensor velocitySkipping(Tensor latents, Tensor timesteps, Conditioning conditioning,
                                   Set<Integer> skippedBlocks) {
        if (skippedBlocks == null || skippedBlocks.isEmpty()) {
            throw new IllegalArgumentException("skippedBlocks must be non-empty, found " + skippedBlocks);
        }
        for (int b : skippedBlocks) {
            if (b < 0 || b >= blockCount) {
                throw new IllegalArgumentException("skippedBlocks must be in [0, " + blockCount + "), found "
                        + skippedBlocks);
            }
        }
        record(latents, timesteps, conditioning, skippedBlocks);
        return skippingField.velocity(latents, timesteps, conditioning, skippedBlocks);
    }
}
