package org.sd3j.train.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.sd3j.Sd3Exception;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.random.TorchGenerator;
import org.sd3j.tensor.Tensor;

/**
 * Reads a batch's items from the cache and assembles the training tensors, applying caption dropout, encoder
 * dropout and latent sampling from random streams seeded by the batch's position ({@link Seeds}). Each item's
 * tensors are decoded from its mapped file straight into their place in the batch's tensors (latents slot, context
 * rows and columns per {@link ConditioningWriter}), which {@link BatchBuffers} provides: new ones, or ones reused
 * from the previous batch of the same shape, every element of which is overwritten. Immutable and thread-safe (it
 * only reads files); the buffers are the caller's.
 */
final class BatchAssembler {
    private final Path directory;
    private final List<CachedItem> items;
    private final ConditioningWriter writer;
    /** The roles the cache holds outputs of, in slot order: the order of the dropout draws. */
    private final List<EncoderRole> roles;
    /** The empty caption's outputs, by the writer's role index; null where the cache holds none. */
    private final Tensor[] emptyTokens;
    private final Tensor[] emptyPooled;
    private final FloatSource[] emptyTokenSources;
    private final FloatSource[] emptyPooledSources;
    private final CachedDataset.Options options;

    /**
     * @param emptyCaption the empty caption's outputs (batch 1) of every role in {@code roles}, already checked
     *                     against {@code layout}
     */
    BatchAssembler(Path directory, List<CachedItem> items, ConditioningLayout layout, List<EncoderRole> roles,
                   Map<EncoderRole, EncodedText> emptyCaption, CachedDataset.Options options) {
        this.directory = directory;
        this.items = items;
        this.roles = List.copyOf(roles);
        this.options = options;
        Map<EncoderRole, Integer> tokenCounts = new LinkedHashMap<>();
        for (EncoderRole role : roles) {
            tokenCounts.put(role, emptyCaption.get(role).tokens().dim(1));
        }
        this.writer = ConditioningWriter.of(layout, tokenCounts);
        int n = writer.roles().size();
        this.emptyTokens = new Tensor[n];
        this.emptyPooled = new Tensor[n];
        this.emptyTokenSources = new FloatSource[n];
        this.emptyPooledSources = new FloatSource[n];
        for (int r = 0; r < n; r++) {
            if (this.roles.contains(writer.roles().get(r))) {
                EncodedText empty = emptyCaption.get(writer.roles().get(r));
                emptyTokens[r] = empty.tokens();
                emptyTokenSources[r] = empty.tokens()::get;
                emptyPooled[r] = empty.pooled();
                emptyPooledSources[r] = empty.pooled() == null ? null : empty.pooled()::get;
            }
        }
    }

    /** The batch of the items {@code batch} at {@code position}, in tensors from {@code buffers}. */
    TrainingBatch assemble(IterationState position, List<Integer> batch, BatchBuffers buffers) {
        int b = batch.size();
        // Every sample's dropout decisions up front, in a fixed order, so they do not depend on file contents.
        Random dropout = new Random(Seeds.derive(options.seed(), Seeds.DROPOUT, position.epoch(), position.index()));
        boolean[] captionDropped = new boolean[b];
        List<Set<EncoderRole>> dropped = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            captionDropped[i] = dropout.nextDouble() < options.captionDropout();
            Set<EncoderRole> roleDrops = new HashSet<>();
            for (EncoderRole role : roles) {
                if (dropout.nextDouble() < options.encoderDropout(role)) {
                    roleDrops.add(role);
                }
            }
            dropped.add(roleDrops);
        }
        Tensor context = buffers.tensor(b, writer.tokens(), writer.width());
        Tensor pooled = buffers.tensor(b, writer.pooledWidth());
        Latents latents = null;
        FloatSource[] tokenSources = new FloatSource[writer.roles().size()];
        FloatSource[] pooledSources = new FloatSource[writer.roles().size()];
        List<BatchSample> samples = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            CachedItem item = items.get(batch.get(i));
            try (CachedItemFile file = CachedItemFile.open(directory, item, writer.roles())) {
                if (latents == null) {
                    latents = new Latents(position, item, file.mean(), b, buffers);
                }
                latents.write(i, item, file);
                for (int r = 0; r < tokenSources.length; r++) {
                    // Zeros where the role is dropped or not cached: what a slot holds when its encoder is absent.
                    boolean zeros = emptyTokens[r] == null || dropped.get(i).contains(writer.roles().get(r));
                    tokenSources[r] = zeros ? null : captionDropped[i] ? emptyTokenSources[r]
                            : checkedTokens(item, file, r);
                    pooledSources[r] = zeros ? null : captionDropped[i] ? emptyPooledSources[r]
                            : checkedPooled(item, file, r);
                }
                writer.write(i, context, pooled, tokenSources, pooledSources);
                samples.add(new BatchSample(item.index(), item.source(), file.caption(), captionDropped[i],
                        dropped.get(i)));
            }
        }
        return new TrainingBatch(position, items.get(batch.get(0)).bucket(), latents.tensor,
                new Conditioning(context, pooled), samples);
    }

    /** The item's tokens of role {@code r}, which must have the empty caption's shape. */
    private FloatSource checkedTokens(CachedItem item, CachedItemFile file, int r) {
        CachedTensor tokens = file.tokens(r);
        Tensor empty = emptyTokens[r];
        if (tokens == null || !tokens.hasShape(empty.dim(1), empty.dim(2))) {
            EncoderRole role = writer.roles().get(r);
            throw new Sd3Exception("Cached item " + item.index() + " has " + (tokens == null ? "no " + role
                    + " output" : role + " tokens " + tokens.describeAsBatchOfOne()) + " where the cache's empty"
                    + " caption has " + empty + "; rebuild the cache");
        }
        return tokens;
    }

    /** The item's pooled vector of role {@code r} (null for a sequence role), of the empty caption's width. */
    private FloatSource checkedPooled(CachedItem item, CachedItemFile file, int r) {
        Tensor empty = emptyPooled[r];
        if (empty == null) {
            return null;
        }
        CachedTensor pooled = file.pooled(r);
        if (!pooled.hasShape(empty.dim(1))) {
            throw new Sd3Exception("Cached item " + item.index() + " has " + writer.roles().get(r) + " pooled "
                    + pooled.describeAsBatchOfOne() + " where the cache's empty caption has " + empty
                    + "; rebuild the cache");
        }
        return pooled;
    }

    /** The batch's latents {@code [B, C, h, w]}, shaped by its first item, and the noise they are sampled with. */
    private final class Latents {
        final Tensor tensor;
        private final int[] shape;
        private final String first;
        private final float[] noise;

        Latents(IterationState position, CachedItem item, CachedTensor mean, int batch, BatchBuffers buffers) {
            if (mean.rank() != 3) {
                throw new Sd3Exception("Cached item " + item.index() + " has latents " + mean + ", expected"
                        + " [C, h, w]; rebuild the cache");
            }
            shape = new int[] {mean.dim(0), mean.dim(1), mean.dim(2)};
            first = mean.toString();
            tensor = buffers.tensor(batch, shape[0], shape[1], shape[2]);
            if (options.latentSampling() == LatentSampling.SAMPLE) {
                // One stream for the whole batch (torch.randn(B, C, h, w)), seeded by the position alone.
                noise = buffers.scratch(tensor.size());
                new TorchGenerator(Seeds.derive(options.seed(), Seeds.LATENT, position.epoch(), position.index()))
                        .fillNormal(noise, 0, tensor.size());
            } else {
                noise = null;
            }
        }

        /** Sample {@code i}: the item's mean, or {@code mean + exp(logvar / 2) * noise}. */
        void write(int i, CachedItem item, CachedItemFile file) {
            CachedTensor mean = file.mean();
            CachedTensor logvar = file.logvar();
            if (!mean.hasShape(shape)) {
                throw new Sd3Exception("Cached latents " + mean + " and " + first + " in one bucket's batch: the"
                        + " cache is inconsistent; rebuild it");
            }
            if (noise != null && !logvar.hasShape(shape)) {
                throw new Sd3Exception("Cached item " + item.index() + " has latent log-variance " + logvar
                        + " for latent mean " + mean + "; rebuild the cache");
            }
            int per = tensor.size() / tensor.dim(0);
            int at = i * per;
            for (int k = 0; k < per; k++) {
                float v = mean.get(k);
                if (noise != null) {
                    v += (float) Math.exp(0.5 * logvar.get(k)) * noise[at + k];
                }
                tensor.set(at + k, v);
            }
        }
    }
}
