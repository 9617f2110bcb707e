package org.sd3j.train.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Which items form which batch in an epoch. Per epoch, with a {@link Random} seeded from (seed, epoch) only: the
 * items of each bucket (buckets tall to wide, items in cache order) are shuffled and cut into batches of the batch
 * size (a smaller last batch per bucket unless dropped), then the batches of all buckets are shuffled together. So
 * every batch holds one bucket, every item appears once per epoch (except dropped remainders), and the plan is a
 * pure function of (items, batch size, drop-last, seed, epoch). {@code java.util.Random} and
 * {@link Collections#shuffle(List, Random)} are specified to the bit, so plans are the same on every JVM.
 */
final class EpochPlan {
    private EpochPlan() {
    }

    /** The item indices of each bucket, buckets tall to wide, indices ascending. */
    static Map<BucketSize, List<Integer>> byBucket(List<CachedItem> items) {
        Map<BucketSize, List<Integer>> groups = new TreeMap<>();
        for (CachedItem item : items) {
            groups.computeIfAbsent(item.bucket(), b -> new ArrayList<>()).add(item.index());
        }
        return groups;
    }

    static int batchesPerEpoch(Map<BucketSize, List<Integer>> groups, int batchSize, boolean dropLast) {
        int n = 0;
        for (List<Integer> g : groups.values()) {
            n += dropLast ? g.size() / batchSize : (g.size() + batchSize - 1) / batchSize;
        }
        return n;
    }

    /** The batches of {@code epoch}, each a list of item indices. */
    static List<List<Integer>> plan(Map<BucketSize, List<Integer>> groups, int batchSize, boolean dropLast, long seed,
                                    int epoch) {
        Random random = new Random(Seeds.derive(seed, Seeds.SHUFFLE, epoch, 0));
        List<List<Integer>> batches = new ArrayList<>();
        for (List<Integer> group : groups.values()) {
            List<Integer> shuffled = new ArrayList<>(group);
            Collections.shuffle(shuffled, random);
            for (int from = 0; from < shuffled.size(); from += batchSize) {
                int to = Math.min(from + batchSize, shuffled.size());
                if (to - from == batchSize || !dropLast) {
                    batches.add(List.copyOf(shuffled.subList(from, to)));
                }
            }
        }
        Collections.shuffle(batches, random);
        return List.copyOf(batches);
    }
}
