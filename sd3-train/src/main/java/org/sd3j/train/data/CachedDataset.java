package org.sd3j.train.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.Sd3Exception;
import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.conditioning.PromptEncoder;
import org.sd3j.internal.Checks;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;

/**
 * Training batches read from a {@link PrecomputeCache} only: no encoder or VAE runs during training.
 *
 * <p><b>Batches.</b> An epoch is a shuffled pass over the cache whose batches each hold one bucket (see
 * {@link #epochPlan(int)}). Iteration is endless, epoch after epoch; a position is an {@link IterationState}
 * (epoch, batch index), and everything random in a batch (the shuffle of its epoch, its dropout draws, its latent
 * noise) is seeded from (seed, position) alone, so {@link #batch(IterationState)} is a pure function and
 * {@link #iterator(IterationState)} resumes exactly where a saved state left off.
 * {@link #reusingIterator(IterationState)} gives the same batches in tensors it overwrites batch after batch, so
 * that a training loop allocates no large buffer per step.
 *
 * <p><b>Dropout</b> (SPEC §3), drawn per sample at assembly: with probability {@link Options#captionDropout()}
 * the caption becomes the empty caption (the encoders' cached outputs for {@code ""}); then, independently per
 * encoder role with probability {@link Options#encoderDropout(EncoderRole)} (default {@value
 * Options#DEFAULT_ENCODER_DROPOUT}), that encoder's slot becomes zeros (tokens and pooled vector), which is what a
 * missing encoder contributes. With SD3's default all three encoders are dropped together for 0.464^3 ~ 10% of the
 * samples. The result is assembled into SD3 conditioning by {@link org.sd3j.conditioning.PromptEncoder#assemble}.
 *
 * <p><b>Latents</b> are the cached VAE mean, or ({@link LatentSampling#SAMPLE}, the default) a sample
 * {@code mean + exp(logvar / 2) * eps} with {@code eps} from a {@link org.sd3j.random.TorchGenerator} seeded by the
 * batch position, in denoiser space.
 *
 * <p>Opening checks that the cache was built from the training model ({@link CacheMismatchException} otherwise) and
 * that every item file exists, so a damaged cache fails at once rather than mid-epoch. Immutable and thread-safe;
 * batches may be assembled concurrently (e.g. prefetched on another thread).
 */
public final class CachedDataset {

    /** How batches are formed. Immutable. */
    public static final class Options {
        /** SD3's per-encoder dropout probability (paper: 46.4%). */
        public static final double DEFAULT_ENCODER_DROPOUT = 0.464;

        private final int batchSize;
        private final long seed;
        private final boolean dropLast;
        private final double captionDropout;
        private final double encoderDropout;
        private final Map<EncoderRole, Double> encoderDropoutByRole;
        private final LatentSampling latentSampling;

        private Options(Builder b) {
            this.batchSize = b.batchSize;
            this.seed = b.seed;
            this.dropLast = b.dropLast;
            this.captionDropout = b.captionDropout;
            this.encoderDropout = b.encoderDropout;
            this.encoderDropoutByRole = Collections.unmodifiableMap(new LinkedHashMap<>(b.encoderDropoutByRole));
            this.latentSampling = b.latentSampling;
        }

        /** Batch size 1, seed 0, no caption dropout, encoder dropout 0.464 each, sampled latents. */
        public static Options defaults() {
            return builder().build();
        }

        public static Builder builder() {
            return new Builder();
        }

        public int batchSize() {
            return batchSize;
        }

        public long seed() {
            return seed;
        }

        /** Whether each bucket's last, smaller batch is left out (default false). */
        public boolean dropLast() {
            return dropLast;
        }

        /** Probability that a sample's caption becomes the empty caption (default 0). */
        public double captionDropout() {
            return captionDropout;
        }

        /** Probability that {@code role}'s slot becomes zeros for a sample. */
        public double encoderDropout(EncoderRole role) {
            return encoderDropoutByRole.getOrDefault(role, encoderDropout);
        }

        public LatentSampling latentSampling() {
            return latentSampling;
        }

        /** Builds {@link Options}. Not thread-safe. */
        public static final class Builder {
            private int batchSize = 1;
            private long seed;
            private boolean dropLast;
            private double captionDropout;
            private double encoderDropout = DEFAULT_ENCODER_DROPOUT;
            private final Map<EncoderRole, Double> encoderDropoutByRole = new LinkedHashMap<>();
            private LatentSampling latentSampling = LatentSampling.SAMPLE;

            private Builder() {
            }

            public Builder batchSize(int batchSize) {
                this.batchSize = Checks.atLeast(batchSize, 1, "batchSize");
                return this;
            }

            public Builder seed(long seed) {
                this.seed = seed;
                return this;
            }

            public Builder dropLast(boolean dropLast) {
                this.dropLast = dropLast;
                return this;
            }

            /** @param p in [0, 1] */
            public Builder captionDropout(double p) {
                this.captionDropout = probability(p, "captionDropout");
                return this;
            }

            /** Every encoder's dropout probability, except roles given their own. @param p in [0, 1] */
            public Builder encoderDropout(double p) {
                this.encoderDropout = probability(p, "encoderDropout");
                return this;
            }

            /** One encoder's dropout probability. @param p in [0, 1] */
            public Builder encoderDropout(EncoderRole role, double p) {
                Checks.notNull(role, "role");
                encoderDropoutByRole.put(role, probability(p, "encoderDropout of " + role));
                return this;
            }

            public Builder latentSampling(LatentSampling sampling) {
                this.latentSampling = Checks.notNull(sampling, "sampling");
                return this;
            }

            public Options build() {
                return new Options(this);
            }

            private static double probability(double p, String name) {
                if (!(p >= 0 && p <= 1)) {
                    throw Checks.fail(name, "in [0, 1]", p);
                }
                return p;
            }
        }
    }

    private final PrecomputeCache cache;
    private final Options options;
    private final ConditioningLayout layout;
    private final Map<BucketSize, List<Integer>> groups;
    private final int batchesPerEpoch;
    private final BatchAssembler assembler;

    private CachedDataset(PrecomputeCache cache, Options options) {
        this.cache = cache;
        this.options = options;
        ModelFingerprint f = cache.fingerprint();
        ConditioningLayout.Builder b = ConditioningLayout.builder().contextDim(f.contextDim());
        f.slots().forEach(s -> b.slot(s.role(), s.tokens(), s.features(), s.pooled()));
        this.layout = b.build();
        this.groups = EpochPlan.byBucket(cache.items());
        this.batchesPerEpoch = EpochPlan.batchesPerEpoch(groups, options.batchSize(), options.dropLast());
        if (batchesPerEpoch == 0) {
            int largest = groups.values().stream().mapToInt(List::size).max().orElse(0);
            throw Checks.fail("batchSize", "<= " + largest + " (the largest bucket's items) with dropLast",
                    options.batchSize());
        }
        List<EncoderRole> roles = f.slots().stream().map(ConditioningLayout.Slot::role)
                .filter(r -> f.encoders().contains(r.name())).toList();
        Path emptyFile = cache.directory().resolve(CacheManifest.EMPTY_CAPTION_FILE);
        Map<EncoderRole, EncodedText> empty = new LinkedHashMap<>(CacheFiles.readEmptyCaption(emptyFile, layout));
        empty.keySet().retainAll(roles);
        for (EncoderRole role : roles) {
            if (!empty.containsKey(role)) {
                throw new Sd3Exception(emptyFile + " has no " + role + " output; rebuild the cache");
            }
        }
        try {
            // Every batch is written where assembling these outputs would put them, so they must fit the layout.
            PromptEncoder.assemble(layout, 1, empty);
        } catch (IllegalArgumentException e) {
            throw new Sd3Exception(emptyFile + " does not fit the cache's conditioning layout: " + e.getMessage()
                    + "; rebuild the cache", e);
        }
        this.assembler = new BatchAssembler(cache.directory(), cache.items(), layout, roles, empty, options);
    }

    /** Opens the cache in {@code directory} for training with the model whose fingerprint is {@code model}. */
    public static CachedDataset open(Path directory, ModelFingerprint model, Options options) {
        return open(PrecomputeCache.open(directory), model, options);
    }

    /**
     * Training batches from {@code cache} for the model whose fingerprint is {@code model} ({@link
     * ModelFingerprint#of}). To skip the model check deliberately, pass {@code cache.fingerprint()}.
     *
     * @throws CacheMismatchException if the cache was built from another model
     * @throws Sd3Exception           if an item file or the empty caption file is missing
     * @throws IllegalArgumentException if {@code dropLast} leaves no batch at this batch size
     */
    public static CachedDataset open(PrecomputeCache cache, ModelFingerprint model, Options options) {
        Checks.notNull(cache, "cache");
        Checks.notNull(model, "model");
        Checks.notNull(options, "options");
        cache.verify(model);
        for (CachedItem item : cache.items()) {
            if (!Files.isRegularFile(cache.directory().resolve(item.file()))) {
                throw new Sd3Exception("The cache " + cache.directory() + " lacks " + item.file() + " (item "
                        + item.index() + ", " + item.source() + "); rebuild the cache");
            }
        }
        return new CachedDataset(cache, options);
    }

    public PrecomputeCache cache() {
        return cache;
    }

    public Options options() {
        return options;
    }

    /** The conditioning layout batches are assembled with (the cache's model's). */
    public ConditioningLayout layout() {
        return layout;
    }

    /** Cached items. */
    public int size() {
        return cache.size();
    }

    /** Batches in every epoch (the same for all epochs). */
    public int batchesPerEpoch() {
        return batchesPerEpoch;
    }

    /** The item indices of each batch of {@code epoch}, in iteration order. */
    public List<List<Integer>> epochPlan(int epoch) {
        Checks.atLeast(epoch, 0, "epoch");
        return EpochPlan.plan(groups, options.batchSize(), options.dropLast(), options.seed(), epoch);
    }

    /**
     * The batch at {@code position}: reads its items and applies dropout and latent sampling. Its tensors are new
     * and the caller's.
     *
     * @throws IllegalArgumentException if the index is not below {@link #batchesPerEpoch()}
     */
    public TrainingBatch batch(IterationState position) {
        checkPosition(position);
        return assemble(position, epochPlan(position.epoch()).get(position.index()), BatchBuffers.allocating());
    }

    /** An iterator from the first batch, whose batches' tensors are new and the caller's. */
    public BatchIterator iterator() {
        return iterator(IterationState.START);
    }

    /**
     * An iterator whose first batch is the one at {@code from} (e.g. a state saved with a checkpoint). Each batch's
     * tensors are new, so the caller may keep them (e.g. to prefetch batches, or to compare them).
     */
    public BatchIterator iterator(IterationState from) {
        checkPosition(from);
        return new BatchIterator(source(), from, BatchBuffers.allocating());
    }

    /**
     * An iterator like {@link #iterator(IterationState)} that assembles every batch into tensors it keeps, one set
     * per batch shape (latents per bucket and batch size, conditioning per batch size), and hands out again: the
     * tensors of a batch it returns are overwritten by its next {@link BatchIterator#next()}. For a loop that
     * consumes each batch before asking for the next, as training does: it then allocates no large buffer per step
     * (freed and re-allocated buffers cost time in the allocator and the kernel), and the same tensors reach the
     * backend every step. The batches equal {@link #iterator(IterationState)}'s, bit for bit.
     */
    public BatchIterator reusingIterator(IterationState from) {
        checkPosition(from);
        return new BatchIterator(source(), from, BatchBuffers.reusing());
    }

    private BatchIterator.Source source() {
        return new BatchIterator.Source() {
            @Override
            public List<List<Integer>> epochPlan(int epoch) {
                return CachedDataset.this.epochPlan(epoch);
            }

            @Override
            public int batchesPerEpoch() {
                return batchesPerEpoch;
            }

            @Override
            public TrainingBatch assemble(IterationState position, List<Integer> items, BatchBuffers buffers) {
                return CachedDataset.this.assemble(position, items, buffers);
            }
        };
    }

    /** The batch of {@code items} at {@code position} in new tensors (tests read single items this way). */
    TrainingBatch assemble(IterationState position, List<Integer> items) {
        return assemble(position, items, BatchBuffers.allocating());
    }

    TrainingBatch assemble(IterationState position, List<Integer> items, BatchBuffers buffers) {
        return assembler.assemble(position, items, buffers);
    }

    private void checkPosition(IterationState position) {
        IterationState.checkWithin(position, batchesPerEpoch, "at batch size " + options.batchSize());
    }

    @Override
    public String toString() {
        return "CachedDataset[" + cache.directory() + ", " + size() + " items, " + batchesPerEpoch
                + " batches per epoch]";
    }
}
