package org.sd3j.onnx.vae;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.sd3j.internal.Checks;
import org.sd3j.internal.Closeables;
import org.sd3j.model.LatentDistribution;
import org.sd3j.model.LatentFormat;
import org.sd3j.model.Vae;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SD3 autoencoder built from a checkpoint (a single-file SD3/SD3.5 checkpoint with
 * {@code first_stage_model.*} keys, a standalone VAE file without the prefix, or a diffusers {@code vae/}
 * safetensors file) as two ONNX graphs run with ONNX Runtime. The weights stay memory-mapped and are fed to the
 * sessions zero-copy as run-time inputs ({@link GraphSession.WeightBinding#INPUTS}: ONNX Runtime 1.23 cannot bind
 * convolution weights as external initializers).
 *
 * <p>The latent format: channels and downscale come from the weights' shapes; scaling and shift (and the GroupNorm
 * groups) from what the checkpoint declares ({@link VaeFileConfig}: a diffusers {@code config.json}, the file's
 * metadata); SD3 single-file checkpoints declare none, so those are SD3's ({@code sd3_impls.SD3LatentFormat}:
 * 1.5305, 0.0609) unless {@link #load(Path, OnnxOptions, double, double)} is given others.
 *
 * <p>Decoding images larger than {@link #DEFAULT_TILE_LATENT_SIZE} latent cells per side decodes overlapping tiles and blends
 * them linearly ({@link #decodeTiled(Tensor, int, int)}). Owns the mapping and its sessions: {@link #close()} releases them
 * (idempotent). Thread-safe.
 */
public final class OnnxVae implements Vae, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxVae.class);

    /** Default: latents larger than this many cells per side (1024 pixels) are decoded in tiles. */
    public static final int DEFAULT_TILE_LATENT_SIZE = 128;
    /** Default overlap between neighbouring tiles, in latent cells. */
    public static final int DEFAULT_TILE_OVERLAP = 16;

    private final String name;
    private final TensorSource source;
    private final VaeConfig config;
    private final GraphSession encoder;
    private final GraphSession decoder;
    private final int tileLatentSize;
    private final int tileOverlap;
    private volatile boolean closed;

    private OnnxVae(String name, TensorSource source, VaeConfig config, GraphSession encoder, GraphSession decoder,
                    int tileLatentSize, int tileOverlap) {
        this.name = name;
        this.source = source;
        this.config = config;
        this.encoder = encoder;
        this.decoder = decoder;
        this.tileLatentSize = tileLatentSize;
        this.tileOverlap = tileOverlap;
    }

    /**
     * Loads a checkpoint file or a diffusers {@code vae/} folder. The latent scaling and shift and the GroupNorm
     * groups are what {@link VaeFileConfig} finds declared (a diffusers {@code config.json} in the folder or beside
     * the file, else the file's metadata), else SD3's (1.5305, 0.0609, 32).
     */
    public static OnnxVae load(Path checkpoint, OnnxOptions sessionConfig) {
        return load(checkpoint, sessionConfig, null);
    }

    /** Loads a checkpoint with the given latent scaling and shift (the GroupNorm groups as declared). */
    public static OnnxVae load(Path checkpoint, OnnxOptions sessionConfig, double scalingFactor, double shiftFactor) {
        return load(checkpoint, sessionConfig, new double[] {scalingFactor, shiftFactor});
    }

    /** @param scaling {scaling, shift}, or null for the declared ones */
    private static OnnxVae load(Path checkpoint, OnnxOptions sessionConfig, double[] scaling) {
        long start = System.nanoTime();
        TensorSource source = Safetensors.open(checkpoint);
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            VaeWeights weights = VaeWeights.of(source, checkpoint);
            VaeConfig config = VaeFileConfig.read(weights, checkpoint, source.metadata());
            if (scaling != null) {
                config = config.withLatentScaling(scaling[0], scaling[1]);
            }
            GraphSession enc = null;
            GraphSession dec = null;
            if (config.hasEncoder()) {
                enc = GraphSession.create(VaeGraph.encoder(config, weights), sessionConfig,
                        GraphSession.WeightBinding.INPUTS);
                opened.add(enc);
            }
            if (config.hasDecoder()) {
                dec = GraphSession.create(VaeGraph.decoder(config, weights), sessionConfig,
                        GraphSession.WeightBinding.INPUTS);
                opened.add(dec);
            }
            OnnxVae vae = new OnnxVae(checkpoint.getFileName().toString(), source, config, enc, dec,
                    DEFAULT_TILE_LATENT_SIZE, DEFAULT_TILE_OVERLAP);
            LOG.info("Loaded VAE from {} ({}, {}) in {} ms", checkpoint, weights.describeLayout(), config,
                    (System.nanoTime() - start) / 1_000_000);
            return vae;
        } catch (RuntimeException e) {
            opened.add(source);
            throw Closeables.closeAfterFailure(e, opened.toArray(AutoCloseable[]::new));
        }
    }

    public VaeConfig config() {
        return config;
    }

    public int tileLatentSize() {
        return tileLatentSize;
    }

    public int tileOverlap() {
        return tileOverlap;
    }

    @Override
    public LatentFormat latentFormat() {
        return config.latentFormat();
    }

    @Override
    public LatentDistribution encode(Tensor images) {
        ensureOpen();
        Checks.notNull(images, "images");
        if (encoder == null) {
            throw new UnsupportedOperationException("VAE " + name + " has no encoder weights");
        }
        int[] s = images.shape();
        if (s.length != 4 || s[1] != config.imageChannels()) {
            throw Checks.fail("images", "[B, " + config.imageChannels() + ", H, W]", images);
        }
        int f = config.downscale();
        if (s[2] % f != 0 || s[3] % f != 0) {
            throw Checks.fail("images", "a multiple of " + f + " on both sides", s[3] + "x" + s[2]);
        }
        Tensor moments = encoder.run(Map.of(VaeGraph.ENCODER_INPUT, images)).get(VaeGraph.ENCODER_OUTPUT);
        return LatentDistribution.fromMoments(moments);
    }

    @Override
    public Tensor decode(Tensor latents) {
        ensureOpen();
        Checks.notNull(latents, "latents");
        if (decoder == null) {
            throw new UnsupportedOperationException("VAE " + name + " has no decoder weights");
        }
        int[] s = latents.shape();
        if (s.length != 4 || s[1] != config.zChannels()) {
            throw Checks.fail("latents", "[B, " + config.zChannels() + ", h, w]", latents);
        }
        if (s[2] > tileLatentSize || s[3] > tileLatentSize) {
            return TiledDecoder.decode(this::decodeWhole, latents, tileLatentSize, tileOverlap, config.downscale());
        }
        return decodeWhole(latents);
    }

    /**
     * Decodes in overlapping tiles of {@code tileLatentSize} latent cells per side, neighbours overlapping by
     * {@code overlap} cells, blended linearly across each overlap (the result differs from a whole decode near tile
     * seams: the decoder's GroupNorm and attention see one tile at a time).
     */
    public Tensor decodeTiled(Tensor latents, int tileLatentSize, int overlap) {
        ensureOpen();
        Checks.notNull(latents, "latents");
        return TiledDecoder.decode(this::decodeWhole, latents, tileLatentSize, overlap, config.downscale());
    }

    /** Decodes in one piece, whatever the size. */
    public Tensor decodeWhole(Tensor latents) {
        ensureOpen();
        return decoder.run(Map.of(VaeGraph.DECODER_INPUT, latents)).get(VaeGraph.DECODER_OUTPUT);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("VAE " + name + " is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // closeAll skips the half a decoder-only or encoder-only checkpoint lacks.
        Closeables.closeAll(java.util.Arrays.asList(decoder, encoder, source));
    }

    @Override
    public String toString() {
        return "OnnxVae[" + name + ", " + config + "]";
    }
}
