package org.sd3j.train.step;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.sd3j.internal.Checks;
import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.graph.Value;
import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.onnx.vae.VaeConfig;
import org.sd3j.onnx.vae.VaeGraph;
import org.sd3j.onnx.vae.VaeWeights;
import org.sd3j.train.autodiff.Autodiff;

/**
 * The autoencoder's training step as one ONNX graph (SPEC §4, as LDM's {@code AutoencoderKL} trains without its
 * perceptual and adversarial terms): encoder moments, the reparameterised sample
 * {@code z = mean + exp(0.5 * clamp(logvar, -30, 20)) * noise}, the decoder, and
 * <pre>
 *   loss = reconstruction + klWeight * kl
 *   reconstruction = mean((decoded - images)^2)            (or mean |decoded - images| for L1)
 *   kl = mean(0.5 * (mean^2 + var - 1 - logvar))           KL(N(mean, var) || N(0, 1)) per latent element
 * </pre>
 * with the gradients of {@code loss} with respect to every weight of the encoder and the decoder.
 *
 * <p>Both terms are means over elements, so {@code klWeight} weighs a latent element's KL against a pixel value's
 * error. LDM sums both per image instead; its {@code kl_weight} {@code w} equals {@code w * (z / (3 f^2))} here
 * (1e-6 there is 8.3e-8 here for SD3's z = 16, f = 8).
 *
 * <p>Inputs: {@code images} {@code [B, 3, H, W]} in [-1, 1], {@code noise} {@code [B, z, H/f, W/f]} (standard
 * normal, drawn by the caller so that steps are reproducible), then every weight under its canonical name (fed from
 * the trainer's buffers, {@code GraphSession.WeightBinding.INPUTS}). Outputs: {@code loss}, {@code reconstruction}
 * and {@code kl} (scalars) and {@code grad.<weight>} for each weight. The batch is symbolic; the image size is
 * fixed when the graph is built (the convolutions' gradients need static spatial sizes). float32.
 */
public final class AutoencoderStep {
    public static final String IMAGES = "images";
    public static final String NOISE = "noise";
    public static final String LOSS = "loss";
    public static final String RECONSTRUCTION = "reconstruction";
    public static final String KL = "kl";
    public static final String GRAD = GradientOutputs.PREFIX;
    /** The graph's one symbolic dimension: images per step. */
    public static final String BATCH = "batch";
    /** Canonical names of the decoder's weights start with this. */
    public static final String DECODER_PREFIX = "decoder.";

    /** SD3's (and LDM's) clamp of the log-variance before it is used. */
    static final double LOGVAR_MIN = -30;
    static final double LOGVAR_MAX = 20;

    /** How the reconstruction is compared with the image. */
    public enum Reconstruction {
        /** Mean squared error: what PSNR measures, so what it optimizes directly. */
        MSE,
        /** Mean absolute error (LDM's pixel term): gentler on outliers, often sharper edges. */
        L1
    }

    private AutoencoderStep() {
    }

    /** Which weights a step trains; the others stay as the file has them and get no gradient computation. */
    public enum Trained {
        /** Every encoder and decoder weight: training from scratch or continuing a whole autoencoder. */
        ALL,
        /**
         * The decoder only, as Stability AI fine-tuned SD's ft-MSE decoder: the encoder, and so every latent a
         * diffusion model was trained on, stays bit-identical while reconstructions improve; also cheaper, as
         * no encoder gradient is computed.
         */
        DECODER
    }

    /** A built step graph and its trainable inputs, the weights' canonical names in output order. */
    public record StepGraph(OnnxGraph graph, List<String> trainable) {
    }

    /**
     * Builds the step graph for images of {@code width x height}.
     *
     * @param weights the weights whose names and shapes the graph declares (their values are fed per run)
     * @throws IllegalArgumentException if a side is not a positive multiple of the downscale factor, {@code config}
     *                                  lacks the encoder or the decoder, or {@code klWeight} is negative or not
     *                                  finite
     */
    public static StepGraph build(VaeConfig config, VaeWeights weights, int width, int height,
                                  Reconstruction reconstruction, double klWeight) {
        return build(config, weights, width, height, reconstruction, klWeight, Trained.ALL);
    }

    /**
     * Builds the step graph for images of {@code width x height}, with gradients for the {@code trained} weights
     * only.
     *
     * @see #build(VaeConfig, VaeWeights, int, int, Reconstruction, double)
     */
    public static StepGraph build(VaeConfig config, VaeWeights weights, int width, int height,
                                  Reconstruction reconstruction, double klWeight, Trained trained) {
        Checks.notNull(config, "config");
        Checks.notNull(trained, "trained");
        Checks.notNull(weights, "weights");
        Checks.notNull(reconstruction, "reconstruction");
        int f = config.downscale();
        if (width < f || width % f != 0) {
            throw Checks.fail("width", "a positive multiple of " + f, width);
        }
        if (height < f || height % f != 0) {
            throw Checks.fail("height", "a positive multiple of " + f, height);
        }
        if (!Double.isFinite(klWeight) || klWeight < 0) {
            throw Checks.fail("klWeight", "finite and >= 0", klWeight);
        }
        if (!config.hasEncoder() || !config.hasDecoder()) {
            throw Checks.fail("config", "an autoencoder with both encoder and decoder", config);
        }
        int z = config.zChannels();
        GraphBuilder g = new GraphBuilder("autoencoder_step");
        Value images = g.input(IMAGES, ElementType.FLOAT, Dim.symbol(BATCH), Dim.of(config.imageChannels()),
                Dim.of(height), Dim.of(width));
        Value noise = g.input(NOISE, ElementType.FLOAT, Dim.symbol(BATCH), Dim.of(z), Dim.of(height / f),
                Dim.of(width / f));

        Value moments = VaeGraph.emitEncoder(g, config, weights, MmditGraph.Attention.PRIMITIVE, images);
        Value[] parts = g.split(moments, 1, z, z);
        Value mean = parts[0];
        Value logvar = g.min(g.max(parts[1], g.scalar((float) LOGVAR_MIN)), g.scalar((float) LOGVAR_MAX));
        Value std = g.exp(g.mul(logvar, g.scalar(0.5f)));
        Value sample = g.add(mean, g.mul(std, noise));
        Value decoded = VaeGraph.emitDecoder(g, config, weights, MmditGraph.Attention.PRIMITIVE, sample);

        Value diff = g.sub(decoded, images);
        Value error = reconstruction == Reconstruction.MSE ? g.mul(diff, diff) : g.abs(diff);
        Value rec = meanOfAll(g, error);
        Value var = g.mul(std, std);
        Value klTerms = g.sub(g.sub(g.add(g.mul(mean, mean), var), g.scalar(1f)), logvar);
        Value kl = g.mul(meanOfAll(g, klTerms), g.scalar(0.5f));
        Value loss = g.add(rec, g.mul(kl, g.scalar((float) klWeight)));

        List<Value> trainable = new ArrayList<>();
        for (Value w : g.weightValues()) {
            if (trained == Trained.ALL || w.name().startsWith(DECODER_PREFIX)) {
                trainable.add(w);
            }
        }
        Map<Value, Value> grads = Autodiff.gradients(g, loss, trainable);
        g.output(loss, LOSS);
        g.output(rec, RECONSTRUCTION);
        g.output(kl, KL);
        List<String> names = GradientOutputs.emit(g, grads, trainable);
        return new StepGraph(g.build(), names);
    }

    /** Flattened first: the mean's gradient then needs only the run-time element count of one axis. */
    private static Value meanOfAll(GraphBuilder g, Value x) {
        return g.reduceMean(g.reshape(x, -1), false, 0);
    }
}
