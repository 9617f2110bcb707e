package org.sd3j.train.data;

import java.util.List;

import org.sd3j.conditioning.Conditioning;
import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * One training batch from a {@link CachedDataset}: every sample from the same bucket.
 *
 * <p>Ownership of the tensors depends on where the batch came from: from {@link CachedDataset#batch},
 * {@link CachedDataset#iterator(IterationState)} they are new and belong to the caller; from
 * {@link CachedDataset#reusingIterator(IterationState)} they are that iterator's buffers, valid only until its next
 * {@link BatchIterator#next()}, which overwrites them (copy what must outlive it). The record itself and its samples
 * are immutable.
 *
 * @param position     where in the iteration this batch is
 * @param bucket       the bucket (image size) of every sample
 * @param latents      {@code [B, C, height/f, width/f]} in denoiser space: the flow-matching {@code x0}
 * @param conditioning context {@code [B, S, D]} and pooled {@code [B, P]} after caption and encoder dropout,
 *                     assembled like {@link org.sd3j.conditioning.PromptEncoder} assembles them
 * @param samples      per sample, in batch order: its item and the dropout applied
 */
public record TrainingBatch(IterationState position, BucketSize bucket, Tensor latents, Conditioning conditioning,
                            List<BatchSample> samples) {
    public TrainingBatch {
        Checks.notNull(position, "position");
        Checks.notNull(bucket, "bucket");
        Checks.notNull(latents, "latents");
        Checks.notNull(conditioning, "conditioning");
        samples = List.copyOf(Checks.notNull(samples, "samples"));
        if (latents.rank() != 4 || latents.dim(0) != samples.size() || conditioning.batchSize() != samples.size()) {
            throw Checks.fail("latents and conditioning", "batches of " + samples.size() + " samples",
                    latents + " and " + conditioning.context());
        }
    }

    public int size() {
        return samples.size();
    }
}
