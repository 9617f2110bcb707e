package org.sd3j.train.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sd3j.Sd3Exception;
import org.sd3j.internal.AtomicFiles;
import org.sd3j.internal.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Preference pairs over a {@link PrecomputeCache}: the same cache training uses (each pair's two images cached as
 * two items with the pair's prompt), plus {@value #PAIRS_FILE} saying which items pair up. Batches of {@code B} pairs
 * are {@link TrainingBatch}es of {@code 2B} samples, the chosen items first and the rejected ones after in the same
 * pair order, as {@code DpoStep} reads them; both images of a pair are in one bucket. No caption or encoder
 * dropout: a pair's two samples always carry the same conditioning. The epoch plan is {@link EpochPlan}'s over pairs
 * (seeded, reproducible, resumable by {@link IterationState}).
 *
 * <p>Immutable and thread-safe; iterators are not.
 */
public final class PairedDataset {
    private static final Logger LOG = LoggerFactory.getLogger(PairedDataset.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The pairing, in the cache folder. */
    public static final String PAIRS_FILE = "pairs.json";

    /** A pair by cache item index. */
    public record Pair(int chosen, int rejected) {
    }

    private final CachedDataset items;
    private final List<Pair> pairs;
    private final int pairsPerBatch;
    private final long seed;
    private final Map<BucketSize, List<Integer>> groups;
    private final int batchesPerEpoch;

    private PairedDataset(CachedDataset items, List<Pair> pairs, int pairsPerBatch, long seed) {
        this.items = items;
        this.pairs = List.copyOf(pairs);
        this.pairsPerBatch = pairsPerBatch;
        this.seed = seed;
        Map<BucketSize, List<Integer>> g = new TreeMap<>();
        for (int i = 0; i < pairs.size(); i++) {
            g.computeIfAbsent(items.cache().items().get(pairs.get(i).chosen()).bucket(), b -> new ArrayList<>())
                    .add(i);
        }
        this.groups = g;
        this.batchesPerEpoch = EpochPlan.batchesPerEpoch(groups, pairsPerBatch, false);
    }

    /**
     * Caches every pair's images and prompt with {@code model} into {@code directory} and writes the pairing. Bad
     * images are skipped as {@link ImageCaptionDataset} and {@link PrecomputeCache#build} skip them (logged,
     * counted); a pair that lost an image, or whose images fall in different buckets, is dropped with a warning.
     *
     * @throws EmptyDatasetException if no pair is left
     */
    public static PairedDataset build(PreferencePairs preferences, EncodingModel model, Path directory,
                                      AspectBuckets buckets, int pairsPerBatch, long seed) {
        Checks.notNull(preferences, "preferences");
        Checks.notNull(model, "model");
        Checks.notNull(directory, "directory");
        Checks.notNull(buckets, "buckets");
        List<ImageCaptionDataset.Entry> entries = new ArrayList<>();
        for (PreferencePair p : preferences.pairs()) {
            entries.add(new ImageCaptionDataset.Entry(p.chosen(), p.prompt()));
            entries.add(new ImageCaptionDataset.Entry(p.rejected(), p.prompt()));
        }
        Path root = preferences.folder();
        // No de-duplication: a pair's two images may be near-identical on purpose.
        ImageCaptionDataset dataset = ImageCaptionDataset.of(root, entries,
                ImageCaptionDataset.Options.builder(buckets).noDeduplication().build());
        PrecomputeCache cache = PrecomputeCache.build(dataset, model, directory);
        // Items keep the entries' order and only lose skipped ones: match them in one pass.
        List<CachedItem> cached = cache.items();
        int[] itemOf = new int[entries.size()];
        int c = 0;
        for (int e = 0; e < entries.size(); e++) {
            String relative = ImageCaptionDataset.relativePath(dataset.folder(), dataset.folder().resolve(entries.get(e).image())
                    .normalize());
            if (c < cached.size() && cached.get(c).source().equals(relative)) {
                itemOf[e] = c++;
            } else {
                itemOf[e] = -1;
            }
        }
        List<Pair> pairs = new ArrayList<>();
        int dropped = 0;
        for (int i = 0; i < preferences.pairs().size(); i++) {
            int chosen = itemOf[2 * i];
            int rejected = itemOf[2 * i + 1];
            if (chosen < 0 || rejected < 0) {
                dropped++;
                LOG.warn("Dropping {}: an image was skipped", preferences.pairs().get(i));
            } else if (!cached.get(chosen).bucket().equals(cached.get(rejected).bucket())) {
                dropped++;
                LOG.warn("Dropping {}: its images fall in different buckets ({} and {})", preferences.pairs().get(i),
                        cached.get(chosen).bucket(), cached.get(rejected).bucket());
            } else {
                pairs.add(new Pair(chosen, rejected));
            }
        }
        if (pairs.isEmpty()) {
            throw new EmptyDatasetException(root, preferences.pairs().size() * 2, dataset.skipCounts());
        }
        writePairs(cache.directory().resolve(PAIRS_FILE), pairs, dropped);
        LOG.info("Preference cache {}: {} pairs, {} dropped, {} ties dropped earlier", cache.directory(),
                pairs.size(), dropped, preferences.ties());
        return open(cache, cache.fingerprint(), pairsPerBatch, seed);
    }

    /** Opens a preference cache {@link #build} wrote, for the model whose fingerprint is {@code model}. */
    public static PairedDataset open(Path directory, ModelFingerprint model, int pairsPerBatch, long seed) {
        return open(PrecomputeCache.open(directory), model, pairsPerBatch, seed);
    }

    private static PairedDataset open(PrecomputeCache cache, ModelFingerprint model, int pairsPerBatch, long seed) {
        Checks.atLeast(pairsPerBatch, 1, "pairsPerBatch");
        CachedDataset items = CachedDataset.open(cache, model, CachedDataset.Options.builder().batchSize(1)
                .seed(seed).captionDropout(0).encoderDropout(0).build());
        Path file = cache.directory().resolve(PAIRS_FILE);
        if (!Files.isRegularFile(file)) {
            throw new Sd3Exception("The cache " + cache.directory() + " has no " + PAIRS_FILE
                    + ": it is not a preference cache (build one from a preference file)");
        }
        List<Pair> pairs = new ArrayList<>();
        try {
            JsonNode root = JSON.readTree(file.toFile());
            for (JsonNode p : root.path("pairs")) {
                int chosen = p.path(0).asInt(-1);
                int rejected = p.path(1).asInt(-1);
                if (chosen < 0 || rejected < 0 || chosen >= cache.size() || rejected >= cache.size()) {
                    throw new Sd3Exception(file + ": pair " + p + " must name two items below " + cache.size()
                            + "; rebuild the cache");
                }
                pairs.add(new Pair(chosen, rejected));
            }
        } catch (IOException e) {
            throw new Sd3Exception("Cannot read " + file + ": " + e.getMessage(), e);
        }
        if (pairs.isEmpty()) {
            throw new Sd3Exception(file + " lists no pair; rebuild the cache");
        }
        return new PairedDataset(items, pairs, pairsPerBatch, seed);
    }

    private static void writePairs(Path file, List<Pair> pairs, int dropped) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode list = root.putArray("pairs");
        for (Pair p : pairs) {
            list.addArray().add(p.chosen()).add(p.rejected());
        }
        root.put("dropped", dropped);
        try {
            byte[] bytes = JSON.writeValueAsBytes(root);
            AtomicFiles.write(file, tmp -> Files.write(tmp, bytes));
        } catch (IOException e) {
            throw new Sd3Exception("Cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The pairs, by cache item index. */
    public List<Pair> pairs() {
        return pairs;
    }

    /** The cache the items are in. */
    public PrecomputeCache cache() {
        return items.cache();
    }

    public int pairsPerBatch() {
        return pairsPerBatch;
    }

    public int batchesPerEpoch() {
        return batchesPerEpoch;
    }

    /** The item indices of each batch of {@code epoch}: the chosen items of its pairs, then their rejected ones. */
    public List<List<Integer>> epochPlan(int epoch) {
        Checks.atLeast(epoch, 0, "epoch");
        List<List<Integer>> out = new ArrayList<>();
        for (List<Integer> batch : EpochPlan.plan(groups, pairsPerBatch, false, seed, epoch)) {
            List<Integer> itemIndices = new ArrayList<>(2 * batch.size());
            batch.forEach(p -> itemIndices.add(pairs.get(p).chosen()));
            batch.forEach(p -> itemIndices.add(pairs.get(p).rejected()));
            out.add(List.copyOf(itemIndices));
        }
        return out;
    }

    /**
     * An iterator over batches of pairs, reusing its tensors as {@link CachedDataset#reusingIterator} does (each
     * batch is overwritten by the next).
     */
    public BatchIterator reusingIterator(IterationState from) {
        IterationState.checkWithin(from, batchesPerEpoch, "at " + pairsPerBatch + " pairs per batch");
        return new BatchIterator(new BatchIterator.Source() {
            @Override
            public List<List<Integer>> epochPlan(int epoch) {
                return PairedDataset.this.epochPlan(epoch);
            }

            @Override
            public int batchesPerEpoch() {
                return batchesPerEpoch;
            }

            @Override
            public TrainingBatch assemble(IterationState position, List<Integer> itemIndices, BatchBuffers buffers) {
                return items.assemble(position, itemIndices, buffers);
            }
        }, from, BatchBuffers.reusing());
    }

    @Override
    public String toString() {
        return "PairedDataset[" + cache().directory() + ", " + pairs.size() + " pairs, " + batchesPerEpoch
                + " batches per epoch]";
    }
}
