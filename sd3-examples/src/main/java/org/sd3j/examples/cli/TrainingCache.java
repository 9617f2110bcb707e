package org.sd3j.examples.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.sd3j.Sd3Exception;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.train.data.CacheMismatchException;
import org.sd3j.train.data.CachedItem;
import org.sd3j.train.data.DatasetItem;
import org.sd3j.train.data.EncodingModel;
import org.sd3j.train.data.ImageCaptionDataset;
import org.sd3j.train.data.ModelFingerprint;
import org.sd3j.train.data.PrecomputeCache;
import org.sd3j.train.data.SkipReason;

/**
 * The precompute cache {@code sd3 train} trains from: the one in the cache folder when it is complete (it has a
 * {@value #MANIFEST}) and still fits (the same model by fingerprint, the same dataset folder, and the same images
 * with the same captions and buckets as the scan just made), else a new one. Says on the error stream which it
 * was and why. What is not checked: an image's pixels edited under the same name (delete the cache folder then).
 */
final class TrainingCache {
    /** Written last by {@link PrecomputeCache#build}: a folder without it holds no complete cache. */
    static final String MANIFEST = "manifest.json";

    private TrainingCache() {
    }

    /** The cache of {@code dataset} for {@code model} in {@code folder}, reused or built. */
    static PrecomputeCache prepare(ImageCaptionDataset dataset, EncodingModel model, ModelFingerprint fingerprint,
                                   Path folder, PrintWriter err) {
        if (Files.isRegularFile(folder.resolve(MANIFEST))) {
            String stale;
            PrecomputeCache cache = null;
            try {
                cache = PrecomputeCache.open(folder);
                cache.verify(fingerprint);
                stale = staleness(cache, dataset);
            } catch (CacheMismatchException e) {
                stale = "it was built from another model (" + String.join("; ", e.differences()) + ")";
            } catch (Sd3Exception e) {
                stale = "it cannot be read (" + e.getMessage() + ")";
            }
            if (stale == null) {
                err.println("Reusing the cache " + folder + " (" + cache.size() + " items)");
                err.flush();
                return cache;
            }
            err.println("Rebuilding the cache " + folder + ": " + stale);
        } else {
            err.println("Building the cache " + folder);
        }
        err.println("Precomputing latents and text encodings of " + dataset.size() + " images...");
        err.flush();
        long start = System.nanoTime();
        PrecomputeCache cache = PrecomputeCache.build(dataset, model, folder);
        err.println("Cached " + cache.size() + " items in "
                + Units.seconds(Duration.ofNanos(System.nanoTime() - start)));
        err.flush();
        return cache;
    }

    /** Why {@code cache} no longer fits {@code dataset}, or null when it does. */
    static String staleness(PrecomputeCache cache, ImageCaptionDataset dataset) {
        if (!cache.datasetFolder().toAbsolutePath().normalize().equals(dataset.folder())) {
            return "it was built from " + cache.datasetFolder();
        }
        Map<String, DatasetItem> scanned = new HashMap<>();
        for (DatasetItem item : dataset.items()) {
            scanned.put(item.relativePath(), item);
        }
        for (CachedItem cached : cache.items()) {
            DatasetItem now = scanned.remove(cached.source());
            if (now == null) {
                return cached.source() + " is no longer in the dataset";
            }
            if (!now.bucket().equals(cached.bucket())) {
                return cached.source() + " is now trained at " + now.bucket() + ", not " + cached.bucket();
            }
            if (!now.caption().equals(caption(cache.directory().resolve(cached.file())))) {
                return "the caption of " + cached.source() + " changed";
            }
        }
        // Images the precompute pass could not decode are counted, not named: only more new items than that are news.
        int undecodable = cache.skipCounts().getOrDefault(SkipReason.UNREADABLE_IMAGE, 0)
                - dataset.skipCounts().getOrDefault(SkipReason.UNREADABLE_IMAGE, 0);
        if (scanned.size() > Math.max(0, undecodable)) {
            return scanned.size() + " images are new, e.g. " + scanned.keySet().stream().sorted().findFirst().get();
        }
        return null;
    }

    /** The caption an item file was encoded from (its header's metadata; no tensor is read). */
    private static String caption(Path itemFile) {
        try (TensorSource source = Safetensors.open(itemFile)) {
            return source.metadata().getOrDefault("caption", "").strip();
        }
    }
}
