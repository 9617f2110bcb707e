package org.sd3j.conditioning;

import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * What the MMDiT is conditioned on (SPEC §3).
 *
 * @param context per-token context {@code [B, S, D]} (SD3: S = 77 + 256, D = 4096)
 * @param pooled  pooled text vector {@code [B, P]} (SD3: P = 2048)
 */
public record Conditioning(Tensor context, Tensor pooled) {
    public Conditioning {
        Checks.notNull(context, "context");
        Checks.notNull(pooled, "pooled");
        if (context.rank() != 3) {
            throw Checks.fail("context", "of rank 3 [B, S, D]", context);
        }
        if (pooled.rank() != 2 || pooled.dim(0) != context.dim(0)) {
            throw Checks.fail("pooled", "[" + context.dim(0) + ", P] to match context " + context, pooled);
        }
    }

    public int batchSize() {
        return context.dim(0);
    }

    /** This conditioning repeated along the batch: [B,...] -> [B*times,...]. */
    public Conditioning repeat(int times) {
        return times == 1 ? this : new Conditioning(context.repeat(times), pooled.repeat(times));
    }

    /** Batch-concatenation in the given order, e.g. classifier-free guidance's [negative, positive]. */
    public static Conditioning concatBatch(Conditioning first, Conditioning second) {
        Checks.notNull(first, "first");
        Checks.notNull(second, "second");
        return new Conditioning(Tensor.concat(0, first.context, second.context),
                Tensor.concat(0, first.pooled, second.pooled));
    }
}
