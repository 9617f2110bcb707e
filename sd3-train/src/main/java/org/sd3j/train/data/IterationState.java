package org.sd3j.train.data;

import org.sd3j.internal.Checks;

/**
 * A position in the endless sequence of batches of a {@link CachedDataset}: batch {@code index} of epoch
 * {@code epoch}. Save it with a training checkpoint (two integers) and pass it to
 * {@link CachedDataset#iterator(IterationState)} to continue with exactly the batches (items, dropout, latent
 * noise) that would have come next.
 *
 * @param epoch 0-based epoch
 * @param index 0-based batch index within the epoch
 */
public record IterationState(int epoch, int index) {
    /** The first batch of the first epoch. */
    public static final IterationState START = new IterationState(0, 0);

    public IterationState {
        Checks.atLeast(epoch, 0, "epoch");
        Checks.atLeast(index, 0, "index");
    }

    /**
     * Checks that {@code position} lies within epochs of {@code batchesPerEpoch} batches (a checkpoint of a run with
     * another batch size, or another dataset, may not).
     *
     * @param position        the state to check
     * @param batchesPerEpoch batches per epoch of the dataset to iterate
     * @param why             what fixed that count, for the error (e.g. "at batch size 8"), or ""
     * @return {@code position}
     */
    public static IterationState checkWithin(IterationState position, int batchesPerEpoch, String why) {
        Checks.notNull(position, "position");
        if (position.index() >= batchesPerEpoch) {
            throw Checks.fail("position index", "< " + batchesPerEpoch + " (batches per epoch"
                    + (why.isEmpty() ? "" : " " + why) + ")", position.index());
        }
        return position;
    }

    /** The position after this one, for epochs of {@code batchesPerEpoch} batches. */
    public IterationState next(int batchesPerEpoch) {
        Checks.atLeast(batchesPerEpoch, 1, "batchesPerEpoch");
        return index + 1 < batchesPerEpoch ? new IterationState(epoch, index + 1) : new IterationState(epoch + 1, 0);
    }
}
