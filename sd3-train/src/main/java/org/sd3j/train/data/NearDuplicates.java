package org.sd3j.train.data;

import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drops near-duplicate images: an item whose {@link PerceptualHash#dHash} is within a Hamming distance of an item
 * kept earlier (in the dataset's sorted order) is dropped, so the first of a group survives. Compares each item
 * with every kept one: O(n * kept) 64-bit comparisons, a fraction of a second for tens of thousands of images
 * (decoding them dominates). Not thread-safe.
 */
final class NearDuplicates {
    private static final Logger LOG = LoggerFactory.getLogger(NearDuplicates.class);

    private NearDuplicates() {
    }

    /**
     * The items to keep; every dropped or undecodable item is added to {@code skips}.
     *
     * @param maxDistance the largest Hamming distance (0 to 64) counted as a duplicate
     */
    static List<DatasetItem> filter(List<DatasetItem> items, int maxDistance, List<SkippedImage> skips) {
        List<DatasetItem> kept = new ArrayList<>();
        List<Long> hashes = new ArrayList<>();
        int dropped = 0;
        for (DatasetItem item : items) {
            long hash;
            try {
                hash = PerceptualHash.dHash(ImageFiles.read(item.image()));
            } catch (ImageFiles.UnreadableException e) {
                ImageCaptionDataset.skip(skips, item.image(), SkipReason.UNREADABLE_IMAGE, e.getMessage());
                continue;
            }
            int match = -1;
            int distance = Integer.MAX_VALUE;
            for (int k = 0; k < hashes.size() && distance > 0; k++) {
                int d = PerceptualHash.distance(hash, hashes.get(k));
                if (d <= maxDistance && d < distance) {
                    match = k;
                    distance = d;
                }
            }
            if (match < 0) {
                kept.add(item);
                hashes.add(hash);
                continue;
            }
            dropped++;
            String original = kept.get(match).relativePath();
            LOG.info("Dropping {}: a near duplicate of {} (dHash distance {} <= {})", item.image(), original,
                    distance, maxDistance);
            skips.add(new SkippedImage(item.image(), SkipReason.DUPLICATE, "a near duplicate of " + original
                    + " (dHash distance " + distance + " <= " + maxDistance + "); the first in sorted order is kept"));
        }
        if (dropped > 0) {
            LOG.info("De-duplication dropped {} of {} images", dropped, items.size());
        }
        return kept;
    }
}
