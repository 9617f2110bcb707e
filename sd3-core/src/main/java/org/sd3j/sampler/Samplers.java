package org.sd3j.sampler;

import java.util.Locale;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.SortedMap;
import java.util.TreeMap;

import org.sd3j.Sd3Exception;
import org.sd3j.internal.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds samplers by name through {@link ServiceLoader}: the built-in ones ({@code euler}, {@code heun},
 * {@code dpmpp_2m}, {@code euler_stochastic}) and any listed in another jar's
 * {@code META-INF/services/org.sd3j.sampler.Sampler}. Nothing is cached: each lookup sees the class path as it
 * is.
 */
public final class Samplers {
    private static final Logger LOG = LoggerFactory.getLogger(Samplers.class);

    private Samplers() {
    }

    /** The default sampler, Euler. */
    public static Sampler defaultSampler() {
        return new FlowMatchEulerSampler();
    }

    /** Looks up a sampler by name (case-insensitive) with the thread's context class loader. */
    public static Sampler forName(String name) {
        return forName(name, contextLoader());
    }

    /**
     * Looks up a sampler by name (case-insensitive).
     *
     * @throws IllegalArgumentException naming the available samplers when none has that name
     */
    public static Sampler forName(String name, ClassLoader loader) {
        Checks.notNull(name, "sampler name");
        SortedMap<String, Sampler> all = available(loader);
        Sampler sampler = all.get(name.toLowerCase(Locale.ROOT));
        if (sampler == null) {
            throw new IllegalArgumentException("sampler must be one of " + all.keySet() + ", found '" + name
                    + "'. A sampler from another jar is found when that jar is on the class path and lists its class in"
                    + " META-INF/services/" + Sampler.class.getName() + ".");
        }
        return sampler;
    }

    /** Every sampler the class loader can see, by name. */
    public static SortedMap<String, Sampler> available(ClassLoader loader) {
        SortedMap<String, Sampler> byName = new TreeMap<>();
        try {
            for (Sampler s : ServiceLoader.load(Sampler.class, loader)) {
                String key = s.name().toLowerCase(Locale.ROOT);
                Sampler previous = byName.putIfAbsent(key, s);
                if (previous != null && previous.getClass() != s.getClass()) {
                    LOG.warn("Two samplers are named '{}': {} and {}; using the first. Remove one jar or rename one"
                            + " sampler.", key, previous.getClass().getName(), s.getClass().getName());
                }
            }
        } catch (ServiceConfigurationError e) {
            throw new Sd3Exception("A sampler plug-in could not be loaded: " + e.getMessage(), e);
        }
        return byName;
    }

    /** Names of every sampler the context class loader can see. */
    public static java.util.SortedSet<String> availableNames() {
        return new java.util.TreeSet<>(available(contextLoader()).keySet());
    }

    private static ClassLoader contextLoader() {
        ClassLoader cl = Thread.currentThread().getContextClassLoader();
        return cl != null ? cl : Samplers.class.getClassLoader();
    }
}
