package org.sd3j.train.data;

/**
 * Independent seeds for each random stream of each batch, derived from the user's seed: every batch's draws depend
 * only on (seed, stream, epoch, batch index), never on what was drawn before, which is what makes iteration
 * resumable at any position. SplitMix64 finalizers: well mixed, and plain arithmetic, so the same on every JVM.
 */
final class Seeds {
    /** Shuffling an epoch's items and batches. */
    static final long SHUFFLE = 1;
    /** Caption and encoder dropout draws. */
    static final long DROPOUT = 2;
    /** Latent sampling noise. */
    static final long LATENT = 3;

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private Seeds() {
    }

    static long derive(long seed, long stream, long epoch, long index) {
        long z = mix(seed + GOLDEN);
        z = mix(z ^ mix(stream * GOLDEN + 1));
        z = mix(z ^ mix(epoch * GOLDEN + 2));
        return mix(z ^ mix(index * GOLDEN + 3));
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
