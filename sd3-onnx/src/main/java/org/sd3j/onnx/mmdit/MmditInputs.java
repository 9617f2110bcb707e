package org.sd3j.onnx.mmdit;

import org.sd3j.conditioning.Conditioning;
import org.sd3j.tensor.Tensor;

/** Checks denoiser inputs against the model before ONNX Runtime sees them, with errors that say what to change. */
final class MmditInputs {
    private MmditInputs() {
    }

    static void check(MmditConfig cfg, Tensor latents, Tensor timesteps, Conditioning c) {
        if (latents.rank() != 4 || latents.dim(1) != cfg.inChannels()) {
            throw new IllegalArgumentException("latents must be [B, " + cfg.inChannels() + ", H, W], found " + latents);
        }
        int b = latents.dim(0);
        int h = latents.dim(2);
        int w = latents.dim(3);
        int p = cfg.patchSize();
        if (h % p != 0 || w % p != 0) {
            throw new IllegalArgumentException("latent height and width must be multiples of the patch size " + p
                    + " (image sides multiples of 16), found " + h + "x" + w);
        }
        int grid = cfg.posEmbedMaxSize();
        if (h / p > grid || w / p > grid) {
            throw new IllegalArgumentException("latent size must be at most " + grid * p + "x" + grid * p
                    + " (position grid " + grid + "x" + grid + " patches, i.e. " + grid * p * 8 + " pixels a side), found "
                    + h + "x" + w);
        }
        if (!timesteps.hasShape(b)) {
            throw new IllegalArgumentException("timesteps must be [" + b + "], found " + timesteps);
        }
        if (c.context().dim(0) != b || c.context().dim(2) != cfg.contextDim()) {
            throw new IllegalArgumentException("context must be [" + b + ", S, " + cfg.contextDim() + "], found "
                    + c.context());
        }
        if (!c.pooled().hasShape(b, cfg.pooledDim())) {
            throw new IllegalArgumentException("pooled must be [" + b + ", " + cfg.pooledDim() + "], found "
                    + c.pooled());
        }
    }
}
