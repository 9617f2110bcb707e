package org.sd3j.train.lora;

import org.sd3j.internal.Checks;

/**
 * How to create new LoRA adapters: rank r, alpha (the adapter's output is scaled by {@code alpha / r}), the
 * initialisation of A and the seed it is drawn with. Immutable.
 *
 * @param rank  r, {@code >= 1}
 * @param alpha finite and {@code > 0}
 * @param init  distribution of A; B starts at zero
 * @param seed  seed of the {@link org.sd3j.random.TorchGenerator} that draws every A, adapter after adapter
 */
public record LoraSpec(int rank, double alpha, LoraInit init, long seed) {

    /** @throws IllegalArgumentException for a rank below 1, a non-positive or non-finite alpha, or a null init */
    public LoraSpec {
        Checks.atLeast(rank, 1, "rank");
        Checks.finitePositive(alpha, "alpha");
        Checks.notNull(init, "init");
    }

    /** diffusers' SD3 LoRA defaults (SPEC §7): rank 4, alpha 4, gaussian A. */
    public static LoraSpec diffusersDefault(long seed) {
        return new LoraSpec(4, 4, LoraInit.GAUSSIAN, seed);
    }

    /** kohya's defaults (SPEC §7): rank 4, alpha 1, kaiming-uniform A. */
    public static LoraSpec kohyaDefault(long seed) {
        return new LoraSpec(4, 1, LoraInit.KAIMING_UNIFORM, seed);
    }

    /** {@code alpha / rank}, the factor applied to {@code B A x}. */
    public double scale() {
        return alpha / rank;
    }
}
