package org.sd3j.train.data;

import java.util.List;

/**
 * Endless iteration over a {@link CachedDataset}'s batches, epoch after epoch. {@link #state()} is the position of
 * the batch {@link #next()} returns next: save it with a checkpoint and resume with
 * {@link CachedDataset#iterator(IterationState)} (or {@link CachedDataset#reusingIterator(IterationState)}).
 *
 * <p>From {@link CachedDataset#iterator(IterationState)}, every batch's tensors are new and the caller's. From
 * {@link CachedDataset#reusingIterator(IterationState)} ({@link #reusesBuffers()}), they belong to this iterator:
 * the next {@link #next()} overwrites them, so use a batch before asking for the next one and copy what must
 * outlive it. Not thread-safe (one per training loop).
 */
public final class BatchIterator {
    /** What an iterator walks: per-epoch plans of item indices, and their assembly ({@link CachedDataset}'s). */
    interface Source {
        List<List<Integer>> epochPlan(int epoch);

        int batchesPerEpoch();

        TrainingBatch assemble(IterationState position, List<Integer> items, BatchBuffers buffers);
    }

    private final Source dataset;
    private final BatchBuffers buffers;
    private IterationState state;
    private int plannedEpoch = -1;
    private List<List<Integer>> plan;

    BatchIterator(Source dataset, IterationState from, BatchBuffers buffers) {
        this.dataset = dataset;
        this.state = from;
        this.buffers = buffers;
    }

    /** The position of the next batch. */
    public IterationState state() {
        return state;
    }

    /** Whether the batches' tensors are this iterator's, overwritten by the next {@link #next()}. */
    public boolean reusesBuffers() {
        return buffers.reuses();
    }

    /**
     * The batch at {@link #state()}; then advances (to the next epoch after the last batch of one). If it throws,
     * the position stays, and a reusing iterator's earlier batch may be partly overwritten.
     */
    public TrainingBatch next() {
        if (plannedEpoch != state.epoch()) {
            plan = dataset.epochPlan(state.epoch());
            plannedEpoch = state.epoch();
        }
        TrainingBatch batch = dataset.assemble(state, plan.get(state.index()), buffers);
        state = state.next(dataset.batchesPerEpoch());
        return batch;
    }
}
