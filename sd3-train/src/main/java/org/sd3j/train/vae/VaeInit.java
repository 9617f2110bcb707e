package org.sd3j.train.vae;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import org.sd3j.internal.Checks;
import org.sd3j.onnx.vae.VaeConfig;
import org.sd3j.tensor.Tensor;

/**
 * Seeded random weights for an SD3-style autoencoder of a given geometry, initialized as PyTorch initializes a new
 * LDM {@code AutoencoderKL}: every convolution (1x1 shortcuts and attention projections included) has weights and
 * bias uniform in {@code +-1/sqrt(fan_in)} ({@code nn.Conv2d}'s default), every GroupNorm scale 1 and shift 0.
 *
 * <p>One departure: the log-variance half of {@code encoder.conv_out.bias} starts at {@link #INITIAL_LOGVAR}
 * (posterior standard deviation {@code e^-5 = 0.0067}) instead of near 0. With SD3's tiny KL weight the trained
 * posterior ends up nearly deterministic anyway; starting with unit-variance noise on latents of small magnitude
 * makes the decoder spend hundreds of steps learning through that noise (a 32-channel test autoencoder on 32x32
 * shapes: held-out PSNR 18.1 dB after 1000 steps from a bias near 0, 19.9 dB from -10).
 *
 * <p>Values come from {@link SplittableRandom} (its algorithm is specified), so a seed gives the same bytes on every
 * JDK. Names are canonical ({@code encoder.conv_in.weight}, without {@code first_stage_model.}), in the order the
 * graph declares them. Stateless.
 */
public final class VaeInit {
    /** The initial bias of the encoder's log-variance outputs. */
    public static final double INITIAL_LOGVAR = -10;

    private VaeInit() {
    }

    /**
     * New tensors for every encoder and decoder weight of {@code config} (both are made whatever its
     * {@code hasEncoder} and {@code hasDecoder} say), owned by the caller.
     *
     * @return canonical name -> tensor, unmodifiable, in declaration order
     * @throws IllegalArgumentException if a level's channels are not a positive multiple of the GroupNorm groups
     */
    public static Map<String, Tensor> random(VaeConfig config, long seed) {
        Checks.notNull(config, "config");
        for (int c : config.levelChannels()) {
            if (c < 1 || c % config.normGroups() != 0) {
                throw Checks.fail("config.levelChannels", "positive multiples of normGroups " + config.normGroups(),
                        java.util.Arrays.toString(config.levelChannels()));
            }
        }
        Writer w = new Writer(new SplittableRandom(seed));
        int[] ch = config.levelChannels();
        int levels = ch.length;
        int z = config.zChannels();
        int image = config.imageChannels();

        w.conv("encoder.conv_in", ch[0], image, 3);
        int in = ch[0];
        for (int level = 0; level < levels; level++) {
            for (int b = 0; b < config.resBlocks(); b++) {
                w.resnet("encoder.down." + level + ".block." + b, in, ch[level]);
                in = ch[level];
            }
            if (level != levels - 1) {
                w.conv("encoder.down." + level + ".downsample.conv", in, in, 3);
            }
        }
        w.mid("encoder.mid", in);
        w.norm("encoder.norm_out", in);
        w.conv("encoder.conv_out", 2 * z, in, 3);
        Tensor momentsBias = w.tensors.get("encoder.conv_out.bias");
        for (int c = z; c < 2 * z; c++) {
            momentsBias.set(c, (float) INITIAL_LOGVAR);
        }

        int top = ch[levels - 1];
        w.conv("decoder.conv_in", top, z, 3);
        w.mid("decoder.mid", top);
        in = top;
        for (int level = levels - 1; level >= 0; level--) {
            for (int b = 0; b <= config.resBlocks(); b++) {
                w.resnet("decoder.up." + level + ".block." + b, in, ch[level]);
                in = ch[level];
            }
            if (level != 0) {
                w.conv("decoder.up." + level + ".upsample.conv", in, in, 3);
            }
        }
        w.norm("decoder.norm_out", in);
        w.conv("decoder.conv_out", image, in, 3);
        return Collections.unmodifiableMap(w.tensors);
    }

    /** How many values {@link #random} makes for {@code config}. */
    public static long parameterCount(VaeConfig config) {
        long n = 0;
        for (Tensor t : random(config, 0).values()) {
            n += t.size();
        }
        return n;
    }

    private static final class Writer {
        final SplittableRandom random;
        final Map<String, Tensor> tensors = new LinkedHashMap<>();

        Writer(SplittableRandom random) {
            this.random = random;
        }

        void conv(String module, int out, int in, int kernel) {
            double bound = 1 / Math.sqrt((double) in * kernel * kernel);
            uniform(module + ".weight", bound, out, in, kernel, kernel);
            uniform(module + ".bias", bound, out);
        }

        void norm(String module, int channels) {
            tensors.put(module + ".weight", Tensor.full(1f, channels));
            tensors.put(module + ".bias", Tensor.zeros(channels));
        }

        void resnet(String module, int in, int out) {
            norm(module + ".norm1", in);
            conv(module + ".conv1", out, in, 3);
            norm(module + ".norm2", out);
            conv(module + ".conv2", out, out, 3);
            if (in != out) {
                conv(module + ".nin_shortcut", out, in, 1);
            }
        }

        void mid(String module, int c) {
            resnet(module + ".block_1", c, c);
            norm(module + ".attn_1.norm", c);
            for (String p : new String[] {"q", "k", "v", "proj_out"}) {
                conv(module + ".attn_1." + p, c, c, 1);
            }
            resnet(module + ".block_2", c, c);
        }

        void uniform(String name, double bound, int... shape) {
            Tensor t = Tensor.zeros(shape);
            for (int i = 0; i < t.size(); i++) {
                t.set(i, (float) ((random.nextDouble() * 2 - 1) * bound));
            }
            tensors.put(name, t);
        }
    }
}
