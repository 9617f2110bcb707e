package org.sd3j.internal;

import java.util.List;

import org.sd3j.Sd3Exception;

/** Closing several resources so that one failure neither stops the others nor hides theirs. Internal. */
public final class Closeables {
    private Closeables() {
    }

    /**
     * For constructors that opened resources before failing: closes them (null entries skipped) and attaches any
     * failure to close to {@code failure}, which is returned for the caller to throw.
     */
    public static <E extends Throwable> E closeAfterFailure(E failure, AutoCloseable... resources) {
        try {
            closeAll(java.util.Arrays.asList(resources));
        } catch (RuntimeException secondary) {
            failure.addSuppressed(secondary);
        }
        return failure;
    }

    /**
     * Closes every resource in the given order (null entries skipped). The first failure is rethrown once all are
     * closed, later ones attached to it with {@code addSuppressed}; checked exceptions are wrapped in an
     * {@link Sd3Exception}.
     */
    public static void closeAll(List<? extends AutoCloseable> resources) {
        RuntimeException failure = null;
        for (AutoCloseable c : resources) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Exception e) {
                RuntimeException r = e instanceof RuntimeException ? (RuntimeException) e
                        : new Sd3Exception("Closing " + c + " failed: " + e.getMessage(), e);
                if (failure == null) {
                    failure = r;
                } else {
                    failure.addSuppressed(r);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
