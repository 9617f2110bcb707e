package org.sd3j;

import java.nio.FloatBuffer;

import org.sd3j.random.TorchGenerator;
import org.sd3j.sampler.NoiseSource;
import org.sd3j.tensor.Tensor;

/**
 * Per-item noise for a batch: item {@code i} draws from its own torch-compatible generator seeded with
 * {@code seed + i}, so image i of a batch equals a single generation with seed {@code seed + i}, and item 0's
 * initial noise is what {@code torch.manual_seed(seed); torch.randn(1, C, h, w)} gives. Confined to one run.
 */
final class BatchNoise implements NoiseSource {
    private final TorchGenerator[] generators;

    BatchNoise(long seed, int batchSize) {
        generators = new TorchGenerator[batchSize];
        for (int i = 0; i < batchSize; i++) {
            generators[i] = new TorchGenerator(seed + i);
        }
    }

    @Override
    public void fillNormal(Tensor target) {
        if (target.dim(0) != generators.length) {
            throw new IllegalArgumentException("target must have batch size " + generators.length + ", found "
                    + target);
        }
        int item = target.size() / generators.length;
        FloatBuffer buffer = target.asFloatBuffer();
        for (int i = 0; i < generators.length; i++) {
            generators[i].fillNormal(buffer, i * item, item);
        }
    }
}
