package org.sd3j.onnx.vae;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.sd3j.ModelLoadException;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.WeightData;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Half;
import org.sd3j.onnx.safetensors.LoadedTensor;
import org.sd3j.onnx.safetensors.TensorInfo;
import org.sd3j.onnx.safetensors.TensorLookup;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/**
 * SD3 autoencoder weights under their canonical names (Stability's keys without {@code first_stage_model.}, e.g.
 * {@code decoder.up.3.block.0.conv1.weight}), whatever layout the checkpoint uses:
 * <ul>
 *   <li>{@link Layout#ORIGINAL}: single-file SD3 checkpoints ({@code first_stage_model.encoder.*},
 *       {@code first_stage_model.decoder.*}) or standalone VAE files without the prefix;</li>
 *   <li>{@link Layout#DIFFUSERS}: a diffusers {@code vae/} file ({@code down_blocks.i.resnets.j},
 *       {@code mid_block.attentions.0.to_q}, decoder {@code up_blocks} numbered from the coarsest level,
 *       attention projections stored as Linear {@code [C, C]} and handed out as 1x1 convolutions).</li>
 * </ul>
 * float32 weights are handed out zero-copy; other dtypes are converted to float32 copies (the autoencoder is
 * small). Borrows the source: it must stay open while graphs built from these weights are in use.
 */
public final class VaeWeights {
    /** Checkpoint key layouts. */
    public enum Layout {
        ORIGINAL,
        DIFFUSERS
    }

    static final String PREFIX = "first_stage_model.";
    private static final Pattern ENC_BLOCK = Pattern.compile("encoder\\.down\\.(\\d+)\\.block\\.(\\d+)\\.(.*)");
    private static final Pattern ENC_DOWN = Pattern.compile("encoder\\.down\\.(\\d+)\\.downsample\\.(.*)");
    private static final Pattern DEC_BLOCK = Pattern.compile("decoder\\.up\\.(\\d+)\\.block\\.(\\d+)\\.(.*)");
    private static final Pattern DEC_UP = Pattern.compile("decoder\\.up\\.(\\d+)\\.upsample\\.(.*)");
    private static final Pattern MID = Pattern.compile("(encoder|decoder)\\.mid\\.(block_1|block_2|attn_1)\\.(.*)");

    private final TensorSource source;
    private final Path origin;
    private final Layout layout;
    private final String prefix;
    /** Diffusers only: number of decoder up blocks (to renumber them). */
    private final int diffusersUpBlocks;

    private VaeWeights(TensorSource source, Path origin, Layout layout, String prefix) {
        this.source = source;
        this.origin = origin;
        this.layout = layout;
        this.prefix = prefix;
        int n = 0;
        if (layout == Layout.DIFFUSERS) {
            while (source.contains(prefix + "decoder.up_blocks." + n + ".resnets.0.conv1.weight")) {
                n++;
            }
        }
        this.diffusersUpBlocks = n;
    }

    /**
     * Detects the layout of {@code source}.
     *
     * @param origin the checkpoint path, for error messages
     */
    public static VaeWeights of(TensorSource source, Path origin) {
        for (String p : new String[] {PREFIX, "", "vae."}) {
            if (source.contains(p + "decoder.conv_in.weight") || source.contains(p + "encoder.conv_in.weight")) {
                boolean diffusers = source.contains(p + "decoder.mid_block.resnets.0.conv1.weight")
                        || source.contains(p + "encoder.mid_block.resnets.0.conv1.weight");
                for (String q : new String[] {"quant_conv.weight", "post_quant_conv.weight"}) {
                    if (source.contains(p + q)) {
                        throw new ModelLoadException(origin, "VAE has '" + p + q + "': quant convolutions belong to"
                                + " SD1/SDXL-style autoencoders, expected SD3's 16-channel VAE without them");
                    }
                }
                return new VaeWeights(source, origin, diffusers ? Layout.DIFFUSERS : Layout.ORIGINAL, p);
            }
        }
        throw new ModelLoadException(origin, "no SD3 VAE weights found: expected '" + PREFIX
                + "decoder.conv_in.weight' (SD3 checkpoint), 'decoder.conv_in.weight' (standalone or diffusers"
                + " vae) or the encoder's 'encoder.conv_in.weight'; the file has " + source.names().size()
                + " tensors" + (source.names().isEmpty() ? "" : ", e.g. '" + source.names().iterator().next() + "'"));
    }

    public Layout layout() {
        return layout;
    }

    public Path origin() {
        return origin;
    }

    /** "SD3 checkpoint layout with prefix 'first_stage_model.'", "... without prefix" or "diffusers vae layout". */
    public String describeLayout() {
        if (layout == Layout.DIFFUSERS) {
            return "diffusers vae layout" + (prefix.isEmpty() ? "" : " with prefix '" + prefix + "'");
        }
        return "SD3 checkpoint layout" + (prefix.isEmpty() ? " without prefix" : " with prefix '" + prefix + "'");
    }

    /** Whether the canonical tensor exists. */
    public boolean has(String canonical) {
        return source.contains(sourceName(canonical));
    }

    /** How many consecutive indices {@code i = 0, 1, ...} have a tensor {@code head + i + tail}. */
    int count(String head, String tail) {
        int n = 0;
        while (has(head + n + tail)) {
            n++;
        }
        return n;
    }

    /** The canonical tensor's shape as stored (attention projections in diffusers: {@code [C, C]}). */
    public long[] shape(String canonical) {
        return info(canonical).shape().clone();
    }

    /** A whole tensor as float32, checked against {@code expectedShape} (empty: any shape). */
    public WeightData get(String canonical, long... expectedShape) {
        TensorInfo info = info(canonical);
        checkShape(info.name(), info.shape(), expectedShape);
        return load(info.name(), info.shape());
    }

    /**
     * A 1x1 convolution weight {@code [out, in, 1, 1]}: stored so in the original layout, as a Linear
     * {@code [out, in]} in diffusers' attention (handed out with the 4-D shape over the same bytes).
     */
    public WeightData conv1x1(String canonical, long out, long in) {
        TensorInfo info = info(canonical);
        long[] s = info.shape();
        if (s.length == 2) {
            checkShape(info.name(), s, new long[] {out, in});
        } else {
            checkShape(info.name(), s, new long[] {out, in, 1, 1});
        }
        return load(info.name(), new long[] {out, in, 1, 1});
    }

    private TensorInfo info(String canonical) {
        return lookup().require(sourceName(canonical), canonical);
    }

    private void checkShape(String name, long[] found, long[] expected) {
        lookup().checkShape(name, found, expected);
    }

    private TensorLookup lookup() {
        return new TensorLookup(source, origin, describeLayout());
    }

    private WeightData load(String name, long[] shape) {
        TensorInfo info = source.info(name);
        if (info.dtype() == DType.F32 || info.dtype() == DType.F16 || info.dtype() == DType.BF16) {
            LoadedTensor t = source.forInference(name);
            ByteBuffer bytes = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
            if (t.dtype() == DType.F32) {
                return new WeightData(ElementType.FLOAT, shape, bytes);
            }
            int n = bytes.remaining() / 2;
            ByteBuffer out = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                out.putFloat(i * 4, Half.f16ToFloat(bytes.getShort(i * 2)));
            }
            return new WeightData(ElementType.FLOAT, shape, out);
        }
        Tensor t = source.toFloatTensor(name);
        ByteBuffer out = ByteBuffer.allocateDirect(t.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < t.size(); i++) {
            out.putFloat(i * 4, t.get(i));
        }
        return new WeightData(ElementType.FLOAT, shape, out);
    }

    /** Canonical (original, unprefixed) name -> the checkpoint's name. */
    String sourceName(String canonical) {
        if (layout == Layout.ORIGINAL) {
            return prefix + canonical;
        }
        return prefix + diffusersName(canonical);
    }

    private String diffusersName(String c) {
        Matcher m = ENC_BLOCK.matcher(c);
        if (m.matches()) {
            return "encoder.down_blocks." + m.group(1) + ".resnets." + m.group(2) + "." + resnet(m.group(3));
        }
        m = ENC_DOWN.matcher(c);
        if (m.matches()) {
            return "encoder.down_blocks." + m.group(1) + ".downsamplers.0." + m.group(2);
        }
        m = DEC_BLOCK.matcher(c);
        if (m.matches()) {
            int level = diffusersUpBlocks - 1 - Integer.parseInt(m.group(1));
            return "decoder.up_blocks." + level + ".resnets." + m.group(2) + "." + resnet(m.group(3));
        }
        m = DEC_UP.matcher(c);
        if (m.matches()) {
            int level = diffusersUpBlocks - 1 - Integer.parseInt(m.group(1));
            return "decoder.up_blocks." + level + ".upsamplers.0." + m.group(2);
        }
        m = MID.matcher(c);
        if (m.matches()) {
            String part = m.group(1) + ".mid_block.";
            String rest = m.group(3);
            switch (m.group(2)) {
                case "block_1":
                    return part + "resnets.0." + resnet(rest);
                case "block_2":
                    return part + "resnets.1." + resnet(rest);
                default:
                    return part + "attentions.0." + attention(rest);
            }
        }
        if (c.endsWith("norm_out.weight") || c.endsWith("norm_out.bias")) {
            return c.replace("norm_out.", "conv_norm_out.");
        }
        return c;
    }

    private static String resnet(String rest) {
        return rest.startsWith("nin_shortcut.") ? "conv_shortcut." + rest.substring("nin_shortcut.".length()) : rest;
    }

    private static String attention(String rest) {
        String[][] map = {{"norm.", "group_norm."}, {"q.", "to_q."}, {"k.", "to_k."}, {"v.", "to_v."},
            {"proj_out.", "to_out.0."}};
        for (String[] p : map) {
            if (rest.startsWith(p[0])) {
                return p[1] + rest.substring(p[0].length());
            }
        }
        return rest;
    }
}
