package org.sd3j.onnx.vae;

import java.util.Arrays;

import org.sd3j.ModelLoadException;
import org.sd3j.model.LatentFormat;

/**
 * Geometry of an SD3-style autoencoder (Stability's {@code sd3_impls.VAEEncoder} / {@code VAEDecoder}), inferred
 * from the checkpoint's tensor shapes, never from literals.
 *
 * @param levelChannels   channels of each resolution level, finest first ({@code ch * ch_mult[i]}; SD3:
 *                        128, 256, 512, 512)
 * @param resBlocks       ResNet blocks per encoder level ({@code num_res_blocks}; the decoder has one more per level)
 * @param zChannels       latent channels ({@code z_channels}, 16 for SD3; the encoder emits twice as many moments)
 * @param imageChannels   image channels (3)
 * @param hasEncoder      whether the checkpoint holds the encoder
 * @param hasDecoder      whether the checkpoint holds the decoder
 * @param scalingFactor   latent scaling between VAE and denoiser space (SD3: 1.5305)
 * @param shiftFactor     latent shift (SD3: 0.0609)
 * @param normGroups      GroupNorm groups ({@code norm_num_groups}; 32 for SD3, whose finest level then has 4 channels
 *                        per group). Not in the weights' shapes: SD3's unless a diffusers {@code config.json} or the
 *                        file's metadata says otherwise. The graphs need every level's channels to be a multiple
 */
public record VaeConfig(int[] levelChannels, int resBlocks, int zChannels, int imageChannels, boolean hasEncoder,
                        boolean hasDecoder, double scalingFactor, double shiftFactor, int normGroups) {
    /** SD3's latent scaling factor (sd3_impls.SD3LatentFormat), used when the checkpoint carries no config. */
    public static final double SD3_SCALING_FACTOR = 1.5305;
    /** SD3's latent shift factor (sd3_impls.SD3LatentFormat), used when the checkpoint carries no config. */
    public static final double SD3_SHIFT_FACTOR = 0.0609;
    /** SD3's GroupNorm groups (diffusers' {@code norm_num_groups} default). */
    public static final int SD3_NORM_GROUPS = 32;

    /** @throws IllegalArgumentException if {@code normGroups < 1} */
    public VaeConfig {
        levelChannels = levelChannels.clone();
        if (normGroups < 1) {
            throw new IllegalArgumentException("normGroups must be >= 1, found " + normGroups);
        }
    }

    /** A config with SD3's 32 GroupNorm groups. */
    public VaeConfig(int[] levelChannels, int resBlocks, int zChannels, int imageChannels, boolean hasEncoder,
                     boolean hasDecoder, double scalingFactor, double shiftFactor) {
        this(levelChannels, resBlocks, zChannels, imageChannels, hasEncoder, hasDecoder, scalingFactor, shiftFactor,
                SD3_NORM_GROUPS);
    }

    @Override
    public int[] levelChannels() {
        return levelChannels.clone();
    }

    /** Number of resolution levels. */
    public int levels() {
        return levelChannels.length;
    }

    /** Pixels per latent cell along each axis: {@code 2^(levels - 1)} (8 for SD3). */
    public int downscale() {
        return 1 << (levelChannels.length - 1);
    }

    /** The latent format for the pipeline: channels and downscale from the shapes, scaling and shift. */
    public LatentFormat latentFormat() {
        return new LatentFormat(zChannels, downscale(), scalingFactor, shiftFactor);
    }

    /** This config with another latent scaling and shift (e.g. from a diffusers {@code vae/config.json}). */
    public VaeConfig withLatentScaling(double scaling, double shift) {
        return new VaeConfig(levelChannels, resBlocks, zChannels, imageChannels, hasEncoder, hasDecoder, scaling, shift,
                normGroups);
    }

    /**
     * This config with another number of GroupNorm groups (e.g. from a diffusers {@code vae/config.json}'s
     * {@code norm_num_groups}).
     */
    public VaeConfig withNormGroups(int groups) {
        return new VaeConfig(levelChannels, resBlocks, zChannels, imageChannels, hasEncoder, hasDecoder,
                scalingFactor, shiftFactor, groups);
    }

    /** Infers the geometry from the weights' shapes; SD3's latent scaling and shift, SD3's 32 GroupNorm groups. */
    public static VaeConfig infer(VaeWeights w) {
        boolean enc = w.has("encoder.conv_in.weight");
        boolean dec = w.has("decoder.conv_in.weight");
        if (!enc && !dec) {
            throw new ModelLoadException(w.origin(), "no VAE weights found: expected 'encoder.conv_in.weight' or"
                    + " 'decoder.conv_in.weight' (" + w.describeLayout() + ")");
        }
        int levels;
        int resBlocks;
        int[] channels;
        int z;
        int image;
        if (dec) {
            levels = w.count("decoder.up.", ".block.0.conv1.weight");
            if (levels < 1) {
                throw new ModelLoadException(w.origin(), "VAE decoder has no up blocks: expected"
                        + " 'decoder.up.0.block.0.conv1.weight' (" + w.describeLayout() + ")");
            }
            resBlocks = w.count("decoder.up.0.block.", ".conv1.weight") - 1;
            channels = new int[levels];
            for (int i = 0; i < levels; i++) {
                channels[i] = (int) w.shape("decoder.up." + i + ".block.0.conv2.weight")[0];
            }
            long[] in = w.shape("decoder.conv_in.weight");
            z = (int) in[1];
            image = (int) w.shape("decoder.conv_out.weight")[0];
        } else {
            levels = w.count("encoder.down.", ".block.0.conv1.weight");
            resBlocks = w.count("encoder.down.0.block.", ".conv1.weight");
            channels = new int[levels];
            for (int i = 0; i < levels; i++) {
                channels[i] = (int) w.shape("encoder.down." + i + ".block.0.conv2.weight")[0];
            }
            z = (int) w.shape("encoder.conv_out.weight")[0] / 2;
            image = (int) w.shape("encoder.conv_in.weight")[1];
        }
        if (resBlocks < 1) {
            throw new ModelLoadException(w.origin(), "VAE must have at least one ResNet block per level, found "
                    + resBlocks + " (" + w.describeLayout() + ")");
        }
        if (enc && dec) {
            int encLevels = w.count("encoder.down.", ".block.0.conv1.weight");
            long encZ = w.shape("encoder.conv_out.weight")[0];
            if (encLevels != levels || encZ != 2L * z) {
                throw new ModelLoadException(w.origin(), "VAE encoder and decoder disagree: encoder has " + encLevels
                        + " levels and " + encZ + " moment channels, decoder " + levels + " levels and " + z
                        + " latent channels (expected " + 2 * z + " moments)");
            }
        }
        return new VaeConfig(channels, resBlocks, z, image, enc, dec, SD3_SCALING_FACTOR, SD3_SHIFT_FACTOR);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VaeConfig && Arrays.equals(((VaeConfig) o).levelChannels, levelChannels)
                && ((VaeConfig) o).resBlocks == resBlocks && ((VaeConfig) o).zChannels == zChannels
                && ((VaeConfig) o).imageChannels == imageChannels && ((VaeConfig) o).hasEncoder == hasEncoder
                && ((VaeConfig) o).hasDecoder == hasDecoder
                && Double.compare(((VaeConfig) o).scalingFactor, scalingFactor) == 0
                && Double.compare(((VaeConfig) o).shiftFactor, shiftFactor) == 0
                && ((VaeConfig) o).normGroups == normGroups;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(levelChannels) * 31 + resBlocks * 17 + zChannels + 7 * normGroups;
    }

    @Override
    public String toString() {
        return "VaeConfig[channels=" + Arrays.toString(levelChannels) + ", resBlocks=" + resBlocks + ", z="
                + zChannels + ", encoder=" + hasEncoder + ", decoder=" + hasDecoder + ", scaling=" + scalingFactor
                + ", shift=" + shiftFactor + (normGroups == SD3_NORM_GROUPS ? "" : ", normGroups=" + normGroups) + "]";
    }
}
