package org.sd3j.train.data;

import java.util.List;

/**
 * Endless iteration over a {@link CachedDataset}'s batches, epoch after epoch. {@link #state()} is the position of
 * the batch {@link #next()} returns next: save it with a checkpoint and resume with
 * {@link CachedDataset#iterator(IterationState)}. Not thread-safe (one per training loop).
 */
public final class BatchIterator {
    private final CachedDataset dataset;
    private IterationState state;
    private int plannedEpoch = -1;
    private List<List<Integer>> plan;

    BatchIterator(CachedDataset dataset, IterationState from) {
        this.dataset = dataset;
        this.state = from;
    }

    /** The position of the next batch. */
    public IterationState state() {
        return state;
    }

    /** The batch at {@link #state()}; then advances (to the next epoch after the last batch of one). */
    public TrainingBatch next() {
        if (plannedEpoch != state.epoch()) {
            plan = dataset.epochPlan(state.epoch());
            plannedEpoch = state.epoch();
        }
        TrainingBatch batch = dataset.assemble(state, plan.get(state.index()));
        state = state.next(dataset.batchesPerEpoch());
        return batch;
    }
}
