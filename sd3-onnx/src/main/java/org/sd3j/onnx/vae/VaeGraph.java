package org.sd3j.onnx.vae;

import java.util.ArrayList;
import java.util.List;

import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.graph.Value;
import org.sd3j.onnx.mmdit.MmditGraph;

/**
 * The SD3 autoencoder as ONNX graphs, following Stability's reference {@code sd3_impls.py} ({@code VAEEncoder},
 * {@code VAEDecoder}, {@code ResnetBlock}, {@code AttnBlock}, {@code Downsample}, {@code Upsample},
 * {@code Normalize}): GroupNorm ({@link VaeConfig#normGroups()} groups, 32 in SD3; eps 1e-6, affine), SiLU, ResNet
 * blocks with a 1x1 shortcut where the channels change, single-head mid-block attention (scale {@code C^-1/2}),
 * downsampling by a right/bottom zero pad and a stride-2 3x3 convolution, upsampling by nearest x2 and a 3x3
 * convolution. Batch and spatial dimensions
 * stay symbolic. Names follow the optimum export (SPEC §6): decoder {@code latent_sample -> sample}, encoder
 * {@code sample -> latent_parameters}.
 *
 * <p>{@link #emitEncoder} and {@link #emitDecoder} add the same computation to a caller's graph (a training step
 * chains both, with the attention as primitive ops that autodiff can differentiate).
 */
public final class VaeGraph {
    public static final String DECODER_INPUT = "latent_sample";
    public static final String DECODER_OUTPUT = "sample";
    public static final String ENCODER_INPUT = "sample";
    public static final String ENCODER_OUTPUT = "latent_parameters";

    static final double EPS = 1e-6;

    private final GraphBuilder g;
    private final VaeWeights w;
    private final int groups;
    private final MmditGraph.Attention attentionKind;

    private VaeGraph(GraphBuilder g, VaeWeights w, int groups, MmditGraph.Attention attentionKind) {
        this.g = g;
        this.w = w;
        this.groups = groups;
        this.attentionKind = attentionKind;
    }

    /** The decoder: {@code latent_sample [B, z, h, w]} (VAE space) -> {@code sample [B, 3, h*f, w*f]}. */
    public static OnnxGraph decoder(VaeConfig config, VaeWeights weights) {
        if (!config.hasDecoder()) {
            throw new IllegalArgumentException("config must have a decoder, found " + config);
        }
        GraphBuilder g = new GraphBuilder("vae_decoder");
        Value z = g.input(DECODER_INPUT, ElementType.FLOAT, Dim.symbol("batch"), Dim.of(config.zChannels()),
                Dim.symbol("latent_height"), Dim.symbol("latent_width"));
        g.output(emitDecoder(g, config, weights, MmditGraph.Attention.FUSED, z), DECODER_OUTPUT);
        return g.build();
    }

    /**
     * Adds the decoder to {@code g}: {@code latents [B, z, h, w]} (VAE space) -> the image {@code [B, 3, h*f, w*f]},
     * weights declared under their canonical names.
     *
     * @param attention {@code PRIMITIVE} for graphs that autodiff differentiates, {@code FUSED} for inference
     */
    public static Value emitDecoder(GraphBuilder g, VaeConfig config, VaeWeights weights,
                                    MmditGraph.Attention attention, Value latents) {
        if (!config.hasDecoder()) {
            throw new IllegalArgumentException("config must have a decoder, found " + config);
        }
        VaeGraph v = new VaeGraph(g, weights, config.normGroups(), attention);
        Value z = latents;
        int[] ch = config.levelChannels();
        int levels = ch.length;
        int top = ch[levels - 1];
        Value h = v.conv("decoder.conv_in", z, top, config.zChannels(), 3, 1, pad1());
        h = v.mid("decoder.mid", h, top);
        int in = top;
        for (int level = levels - 1; level >= 0; level--) {
            for (int b = 0; b <= config.resBlocks(); b++) {
                h = v.resnet("decoder.up." + level + ".block." + b, h, in, ch[level]);
                in = ch[level];
            }
            if (level != 0) {
                h = v.upsample("decoder.up." + level + ".upsample.conv", h, in);
            }
        }
        h = g.silu(v.groupNorm("decoder.norm_out", h, in));
        return v.conv("decoder.conv_out", h, config.imageChannels(), in, 3, 1, pad1());
    }

    /** The encoder: {@code sample [B, 3, H, W]} in [-1, 1] -> {@code latent_parameters [B, 2z, H/f, W/f]}. */
    public static OnnxGraph encoder(VaeConfig config, VaeWeights weights) {
        if (!config.hasEncoder()) {
            throw new IllegalArgumentException("config must have an encoder, found " + config);
        }
        GraphBuilder g = new GraphBuilder("vae_encoder");
        Value x = g.input(ENCODER_INPUT, ElementType.FLOAT, Dim.symbol("batch"), Dim.of(config.imageChannels()),
                Dim.symbol("height"), Dim.symbol("width"));
        g.output(emitEncoder(g, config, weights, MmditGraph.Attention.FUSED, x), ENCODER_OUTPUT);
        return g.build();
    }

    /**
     * Adds the encoder to {@code g}: {@code images [B, 3, H, W]} in [-1, 1] -> the moments {@code [B, 2z, H/f, W/f]}
     * (mean, then log-variance), weights declared under their canonical names.
     *
     * @param attention {@code PRIMITIVE} for graphs that autodiff differentiates, {@code FUSED} for inference
     */
    public static Value emitEncoder(GraphBuilder g, VaeConfig config, VaeWeights weights,
                                    MmditGraph.Attention attention, Value images) {
        if (!config.hasEncoder()) {
            throw new IllegalArgumentException("config must have an encoder, found " + config);
        }
        VaeGraph v = new VaeGraph(g, weights, config.normGroups(), attention);
        Value x = images;
        int[] ch = config.levelChannels();
        int levels = ch.length;
        Value h = v.conv("encoder.conv_in", x, ch[0], config.imageChannels(), 3, 1, pad1());
        int in = ch[0];
        for (int level = 0; level < levels; level++) {
            for (int b = 0; b < config.resBlocks(); b++) {
                h = v.resnet("encoder.down." + level + ".block." + b, h, in, ch[level]);
                in = ch[level];
            }
            if (level != levels - 1) {
                // Downsample: pad (0, 1, 0, 1) with zeros, then conv 3x3 stride 2 without padding.
                h = v.conv("encoder.down." + level + ".downsample.conv", h, in, in, 3, 2, new long[] {0, 0, 1, 1});
            }
        }
        h = v.mid("encoder.mid", h, in);
        h = g.silu(v.groupNorm("encoder.norm_out", h, in));
        return v.conv("encoder.conv_out", h, 2 * config.zChannels(), in, 3, 1, pad1());
    }

    private static long[] pad1() {
        return new long[] {1, 1, 1, 1};
    }

    private Value weight(String canonical, long... shape) {
        return g.weight(canonical, w.get(canonical, shape));
    }

    private Value conv(String module, Value x, int out, int in, int kernel, int stride, long[] pads) {
        Value wt = weight(module + ".weight", out, in, kernel, kernel);
        Value b = weight(module + ".bias", out);
        return g.conv(x, wt, b, new long[] {stride, stride}, pads);
    }

    private Value conv1x1(String module, Value x, int out, int in) {
        Value wt = g.weight(module + ".weight", w.conv1x1(module + ".weight", out, in));
        Value b = weight(module + ".bias", out);
        return g.conv(x, wt, b, new long[] {1, 1}, new long[] {0, 0, 0, 0});
    }

    /**
     * GroupNorm(groups, eps 1e-6, affine) over NCHW, composed: reshape to {@code [B, groups, -1]}, mean and biased
     * variance per group, normalize, reshape back, per-channel scale and shift.
     */
    private Value groupNorm(String module, Value x, int channels) {
        if (channels % groups != 0) {
            throw new IllegalArgumentException("channels must be a multiple of " + groups + " for GroupNorm, found "
                    + channels + " at " + module);
        }
        try (GraphBuilder.Scope s = g.scope(module)) {
            Value shape = g.shape(x);
            Value grouped = g.reshape(x, 0, groups, -1);
            Value mean = g.reduceMean(grouped, true, 2);
            Value centered = g.sub(grouped, mean);
            Value var = g.reduceMean(g.mul(centered, centered), true, 2);
            Value normed = g.div(centered, g.sqrt(g.add(var, g.scalar((float) EPS))));
            Value back = g.reshapeTo(normed, shape, x.shape());
            Value gamma = g.reshape(weight(module + ".weight", channels), channels, 1, 1);
            Value beta = g.reshape(weight(module + ".bias", channels), channels, 1, 1);
            return g.add(g.mul(back, gamma), beta);
        }
    }

    private Value resnet(String module, Value x, int in, int out) {
        Value h = g.silu(groupNorm(module + ".norm1", x, in));
        h = conv(module + ".conv1", h, out, in, 3, 1, pad1());
        h = g.silu(groupNorm(module + ".norm2", h, out));
        h = conv(module + ".conv2", h, out, out, 3, 1, pad1());
        Value skip = in != out ? conv1x1(module + ".nin_shortcut", x, out, in) : x;
        return g.add(skip, h);
    }

    private Value mid(String module, Value x, int c) {
        Value h = resnet(module + ".block_1", x, c, c);
        h = attention(module + ".attn_1", h, c);
        return resnet(module + ".block_2", h, c, c);
    }

    /** Single-head self-attention over the {@code h*w} positions, softmax scale {@code C^-1/2}; residual. */
    private Value attention(String module, Value x, int c) {
        Value n = groupNorm(module + ".norm", x, c);
        Value q = conv1x1(module + ".q", n, c, c);
        Value k = conv1x1(module + ".k", n, c, c);
        Value v = conv1x1(module + ".v", n, c, c);
        Value shape = g.shape(x);
        // b c h w -> b (h w) c
        Value qs = g.transpose(g.reshape(q, 0, c, -1), 0, 2, 1);
        Value vs = g.transpose(g.reshape(v, 0, c, -1), 0, 2, 1);
        Value a;
        if (attentionKind == MmditGraph.Attention.FUSED) {
            a = g.multiHeadAttention(qs, g.transpose(g.reshape(k, 0, c, -1), 0, 2, 1), vs, 1);
        } else {
            Value kt = g.reshape(k, 0, c, -1); // [B, C, hw]: k already transposed for the scores
            Value scores = g.matMul(g.mul(qs, g.scalar((float) (1 / Math.sqrt(c)))), kt);
            a = g.matMul(g.softmax(scores, -1), vs);
        }
        Value back = g.reshapeTo(g.transpose(a, 0, 2, 1), shape, x.shape());
        Value h = conv1x1(module + ".proj_out", back, c, c);
        return g.add(x, h);
    }

    /** Nearest-neighbour x2 (unsqueeze, broadcast, reshape) then conv 3x3 padding 1. */
    private Value upsample(String module, Value x, int c) {
        Value x6 = g.unsqueeze(x, 3, 5); // [B, C, H, 1, W, 1]
        Value e = g.expand(x6, g.int64s(1, 1, 1, 2, 1, 2)); // [B, C, H, 2, W, 2]
        Value target = g.mul(g.shape(x), g.int64s(1, 1, 2, 2));
        List<Dim> known = new ArrayList<>();
        known.add(x.dim(0));
        known.add(Dim.of(c));
        for (int i = 2; i < 4; i++) {
            Dim d = x.dim(i);
            known.add(d.isKnown() ? Dim.of(d.size() * 2) : Dim.unknown());
        }
        Value up = g.reshapeTo(e, target, known);
        Value wt = weight(module + ".weight", c, c, 3, 3);
        Value b = weight(module + ".bias", c);
        return g.conv(up, wt, b, new long[] {1, 1}, pad1());
    }
}
