package org.sd3j.onnx.model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.sd3j.ModelLoadException;
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
    /** {input, output} names of each session (null where the session is absent). */
    private final String[] decoderIo;
    private final String[] encoderIo;

    private OnnxFolderVae(GraphSession decoder, Path decoderFile, GraphSession encoder, Path encoderFile,
                          LatentFormat format) {
        this.decoder = decoder;
        this.encoder = encoder;
        this.format = format;
        this.decoderIo = decoder == null ? null : io(decoder, decoderFile, "vae_decoder", "latent_sample", "sample",
                "latent_sample [B, " + format.channels() + ", h, w] -> sample [B, 3, H, W]");
        this.encoderIo = encoder == null ? null : io(encoder, encoderFile, "vae_encoder", "sample",
                "latent_parameters", "sample [B, 3, H, W] -> latent_parameters [B, " + 2 * format.channels()
                        + ", h, w]");
    }

    /**
     * The input and output names: the optimum ones, else the only rank-4 input and output (other exporters);
     * anything else is not a VAE half.
     */
    private static String[] io(GraphSession s, Path file, String what, String input, String output,
                               String expected) {
        String in = pick(s.inputShapes(), input);
        String out = pick(s.outputShapes(), output);
        if (in == null || out == null) {
            throw new ModelLoadException(file, "not a " + what + ": expected " + expected + "; the model has "
                    + s.describeSignature());
        }
        return new String[] {in, out};
    }

    private static String pick(Map<String, long[]> declared, String preferred) {
        if (declared.containsKey(preferred)) {
            return preferred;
        }
        String found = null;
        for (Map.Entry<String, long[]> e : declared.entrySet()) {
            if (e.getValue().length == 4) {
                if (found != null) {
                    return null;
                }
                found = e.getKey();
            }
        }
        return found;
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
            if (enc != null) {
                opened.add(enc);
            }
            return new OnnxFolderVae(dec, decoderFile, enc, encoderFile, format);
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
        Tensor moments = encoder.run(Map.of(encoderIo[0], images)).get(encoderIo[1]);
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
        return decoder.run(Map.of(decoderIo[0], latents)).get(decoderIo[1]);
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
