package org.sd3j.onnx.model;

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
import org.sd3j.tensor.Tensor;

/**
 * The SD3 autoencoder from exported {@code vae_decoder/model.onnx} ({@code latent_sample -> sample}) and, when
 * present, {@code vae_encoder/model.onnx} ({@code sample -> latent_parameters}). Decodes in one piece (no tiling).
 * Owns its sessions. Thread-safe.
 */
final class OnnxFolderVae implements Vae, AutoCloseable {
    private final GraphSession decoder;
    private final GraphSession encoder;
    private final LatentFormat format;

    private OnnxFolderVae(GraphSession decoder, GraphSession encoder, LatentFormat format) {
        this.decoder = decoder;
        this.encoder = encoder;
        this.format = format;
    }

    /** Either file may be null (absent); not both. */
    static OnnxFolderVae load(Path decoderFile, Path encoderFile, OnnxOptions config, LatentFormat format) {
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            GraphSession dec = decoderFile == null ? null : GraphSession.load(decoderFile, config);
            if (dec != null) {
                opened.add(dec);
            }
            GraphSession enc = encoderFile == null ? null : GraphSession.load(encoderFile, config);
            return new OnnxFolderVae(dec, enc, format);
        } catch (RuntimeException e) {
            try {
                Closeables.closeAll(opened);
            } catch (RuntimeException secondary) {
                e.addSuppressed(secondary);
            }
            throw e;
        }
    }

    @Override
    public LatentFormat latentFormat() {
        return format;
    }

    @Override
    public LatentDistribution encode(Tensor images) {
        Checks.notNull(images, "images");
        if (encoder == null) {
            throw new UnsupportedOperationException("this ONNX folder has no vae_encoder/model.onnx");
        }
        int[] s = images.shape();
        if (s.length != 4 || s[1] != 3) {
            throw Checks.fail("images", "[B, 3, H, W]", images);
        }
        int f = format.downscale();
        if (s[2] % f != 0 || s[3] % f != 0) {
            throw Checks.fail("images", "a multiple of " + f + " on both sides", s[3] + "x" + s[2]);
        }
        Map<String, Tensor> out = encoder.run(Map.of(encoder.inputNames().get(0), images));
        Tensor moments = out.containsKey("latent_parameters") ? out.get("latent_parameters")
                : out.values().iterator().next();
        return LatentDistribution.fromMoments(moments);
    }

    @Override
    public Tensor decode(Tensor latents) {
        Checks.notNull(latents, "latents");
        if (decoder == null) {
            throw new UnsupportedOperationException("this ONNX folder has no vae_decoder/model.onnx");
        }
        int[] s = latents.shape();
        if (s.length != 4 || s[1] != format.channels()) {
            throw Checks.fail("latents", "[B, " + format.channels() + ", h, w]", latents);
        }
        Map<String, Tensor> out = decoder.run(Map.of(decoder.inputNames().get(0), latents));
        return out.containsKey("sample") ? out.get("sample") : out.values().iterator().next();
    }

    @Override
    public void close() {
        List<AutoCloseable> all = new ArrayList<>();
        if (encoder != null) {
            all.add(encoder);
        }
        if (decoder != null) {
            all.add(decoder);
        }
        Closeables.closeAll(all);
    }
}
