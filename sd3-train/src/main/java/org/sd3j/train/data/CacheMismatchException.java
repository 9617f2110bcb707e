package org.sd3j.train.data;

import java.nio.file.Path;
import java.util.List;

import org.sd3j.Sd3Exception;

/**
 * A precompute cache was built from another model than the one training uses: its latents or text features would
 * silently mean something else. The message names the cache and every difference found.
 */
public class CacheMismatchException extends Sd3Exception {
    private static final long serialVersionUID = 1L;

    private final transient Path cache;
    private final List<String> differences;

    public CacheMismatchException(Path cache, String cacheModel, String model, List<String> differences) {
        super("The cache " + cache + " was built from model '" + cacheModel + "', which differs from the model '"
                + model + "' used now: " + String.join("; ", differences)
                + ". Rebuild the cache for this model (PrecomputeCache.build) or train with the model it was built"
                + " from");
        this.cache = cache;
        this.differences = List.copyOf(differences);
    }

    /** The cache folder. */
    public Path cache() {
        return cache;
    }

    /** One line per difference ("encoders: cache [clip_l, t5xxl] vs model [clip_l]"). */
    public List<String> differences() {
        return differences;
    }
}
