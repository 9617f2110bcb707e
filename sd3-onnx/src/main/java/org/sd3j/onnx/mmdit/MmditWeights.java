package org.sd3j.onnx.mmdit;

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

/**
 * MMDiT weights under their canonical names (Stability's original checkpoint keys without the
 * {@code model.diffusion_model.} prefix), whatever layout the checkpoint uses (SPEC §5):
 * <ul>
 *   <li>{@link Layout#ORIGINAL}: single-file SD3 checkpoints, with or without the prefix;</li>
 *   <li>{@link Layout#DIFFUSERS}: a diffusers {@code transformer/} folder: separate q/k/v projections, renamed
 *       modules, and (scale, shift) where the original has (shift, scale) for {@code norm_out.linear} and the
 *       last block's {@code norm1_context.linear}.</li>
 * </ul>
 * Weights are handed out zero-copy (row slices of fused qkv matrices included) unless a dtype conversion is
 * needed. Borrows the source: it must stay open while graphs built from these weights are in use.
 */
public final class MmditWeights {
    /** Checkpoint key layouts. */
    public enum Layout {
        ORIGINAL,
        DIFFUSERS
    }

    private static final String PREFIX = "model.diffusion_model.";
    private static final Pattern BLOCK = Pattern.compile("joint_blocks\\.(\\d+)\\.(x_block|context_block)\\.(.*)");

    private final TensorSource source;
    private final Path origin;
    private final Layout layout;
    private final String prefix;
    private final ElementType computeType;
    private final boolean keepStoredType;
    private final int blockCount;

    private MmditWeights(TensorSource source, Path origin, Layout layout, String prefix, ElementType computeType,
                         boolean keepStoredType) {
        this.source = source;
        this.origin = origin;
        this.layout = layout;
        this.prefix = prefix;
        this.computeType = computeType;
        this.keepStoredType = keepStoredType;
        this.blockCount = countBlocks();
    }

    /**
     * This view handing out weights in their stored type (float16 stays float16, zero-copy) for a graph that casts
     * them to the compute type itself.
     */
    public MmditWeights keepingStoredType() {
        return new MmditWeights(source, origin, layout, prefix, computeType, true);
    }

    /**
     * Detects the layout of {@code source}.
     *
     * @param origin the checkpoint path, for error messages
     * @param computeType FLOAT, FLOAT16 or DOUBLE (gradient checks): weights of another dtype are converted
     *                    (copied) to it
     */
    public static MmditWeights of(TensorSource source, Path origin, ElementType computeType) {
        if (computeType != ElementType.FLOAT && computeType != ElementType.FLOAT16
                && computeType != ElementType.DOUBLE) {
            throw new IllegalArgumentException("computeType must be FLOAT, FLOAT16 or DOUBLE, found " + computeType);
        }
        if (source.find(PREFIX + "x_embedder.proj.weight").isPresent()) {
            return new MmditWeights(source, origin, Layout.ORIGINAL, PREFIX, computeType, false);
        }
        if (source.find("x_embedder.proj.weight").isPresent()) {
            return new MmditWeights(source, origin, Layout.ORIGINAL, "", computeType, false);
        }
        if (source.find("pos_embed.proj.weight").isPresent()
                && source.find("transformer_blocks.0.attn.to_q.weight").isPresent()) {
            return new MmditWeights(source, origin, Layout.DIFFUSERS, "", computeType, false);
        }
        throw new ModelLoadException(origin, "no SD3 MMDiT weights found: expected '" + PREFIX
                + "x_embedder.proj.weight' (SD3 checkpoint), 'x_embedder.proj.weight' or diffusers'"
                + " 'pos_embed.proj.weight' and 'transformer_blocks.0.attn.to_q.weight'; the file has "
                + source.names().size() + " tensors" + sample(source));
    }

    /** Detects the layout, using the dtype of the patch embedding as compute type (F16 stays F16, else FLOAT). */
    public static MmditWeights of(TensorSource source, Path origin) {
        MmditWeights probe = of(source, origin, ElementType.FLOAT);
        DType d = probe.info("x_embedder.proj.weight").dtype();
        return d == DType.F16 ? of(source, origin, ElementType.FLOAT16) : probe;
    }

    private static String sample(TensorSource source) {
        return source.names().isEmpty() ? "" : ", e.g. '" + source.names().iterator().next() + "'";
    }

    public Layout layout() {
        return layout;
    }

    public ElementType computeType() {
        return computeType;
    }

    public Path origin() {
        return origin;
    }

    /** "SD3 checkpoint (prefix 'model.diffusion_model.')" or "diffusers transformer". */
    public String describeLayout() {
        return layout == Layout.DIFFUSERS ? "diffusers transformer layout"
                : "SD3 checkpoint layout" + (prefix.isEmpty() ? " without prefix" : " with prefix '" + prefix + "'");
    }

    /** Number of joint blocks present. */
    public int blockCount() {
        return blockCount;
    }

    private int countBlocks() {
        int n = 0;
        while (has("joint_blocks." + n + ".x_block.attn.proj.weight")) {
            n++;
        }
        return n;
    }

    /** Whether a canonical tensor exists. q/k/v parts count as their fused {@code qkv}. */
    public boolean has(String canonical) {
        if (layout == Layout.DIFFUSERS && canonical.contains(".attn") && canonical.contains(".qkv.")) {
            return source.find(diffusersQkv(canonical, 0)).isPresent();
        }
        return source.find(sourceName(canonical)).isPresent();
    }

    /** The canonical tensor's shape (q/k/v of diffusers reported fused, as the original stores them). */
    public long[] shape(String canonical) {
        if (layout == Layout.DIFFUSERS && canonical.contains(".qkv.")) {
            long[] s = info(diffusersQkv(canonical, 0), canonical).shape().clone();
            s[0] *= 3;
            return s;
        }
        return info(canonical).shape().clone();
    }

    /** A whole tensor, checked against {@code expectedShape}. */
    public WeightData get(String canonical, long... expectedShape) {
        String name = sourceName(canonical);
        TensorInfo info = info(canonical);
        checkShape(name, info.shape(), expectedShape);
        return load(name, 0, info.shape().length == 0 ? 0 : info.shape()[0]);
    }

    /**
     * Where part {@code part} of a {@code qkv} projection's weight is stored: the checkpoint key (without
     * {@code .weight}) and the first row, e.g. ({@code model.diffusion_model.joint_blocks.3.x_block.attn.qkv}, D)
     * for k of the original's fused matrix, or ({@code transformer_blocks.3.attn.to_k}, 0) in diffusers' layout.
     */
    public java.util.Map.Entry<String, Long> qkvKey(String attention, int part, int hidden) {
        String canonical = attention + ".qkv.weight";
        if (layout == Layout.DIFFUSERS) {
            String name = diffusersQkv(canonical, part);
            return java.util.Map.entry(name.substring(0, name.length() - ".weight".length()), 0L);
        }
        String name = sourceName(canonical);
        return java.util.Map.entry(name.substring(0, name.length() - ".weight".length()), (long) part * hidden);
    }

    /** The checkpoint key of a canonical weight name without its {@code .weight}, e.g. for LoRA names. */
    public String keyOf(String canonicalWeight) {
        String name = sourceName(canonicalWeight);
        return name.endsWith(".weight") ? name.substring(0, name.length() - ".weight".length()) : name;
    }

    /**
     * Part {@code part} (0 = q, 1 = k, 2 = v) of a fused {@code qkv} projection, e.g.
     * {@code qkv("joint_blocks.3.x_block.attn", "weight", 1, hidden)}: rows {@code [part*D, (part+1)*D)} of the
     * original's fused matrix (a zero-copy slice), or diffusers' separate {@code to_k}.
     */
    public WeightData qkv(String attention, String kind, int part, int hidden) {
        String canonical = attention + ".qkv." + kind;
        long[] expected = kind.equals("weight") ? new long[] {hidden, hidden} : new long[] {hidden};
        if (layout == Layout.DIFFUSERS) {
            String name = diffusersQkv(canonical, part);
            TensorInfo info = info(name, canonical);
            checkShape(name, info.shape(), expected);
            return load(name, 0, hidden);
        }
        long[] fused = expected.clone();
        fused[0] *= 3;
        TensorInfo info = info(canonical);
        checkShape(sourceName(canonical), info.shape(), fused);
        return load(sourceName(canonical), (long) part * hidden, (long) (part + 1) * hidden);
    }

    /**
     * Whether the adaLN modulation {@code canonical} (a 2-chunk one) is stored as (scale, shift) instead of the
     * original's (shift, scale): diffusers' {@code norm_out.linear} and last-block {@code norm1_context.linear}.
     */
    public boolean scaleShiftSwapped(String canonical) {
        return layout == Layout.DIFFUSERS;
    }

    ModelLoadException unsupported(String what) {
        return MmditConfig.unsupported(origin, what + " (" + describeLayout() + ")");
    }

    private TensorInfo info(String canonical) {
        return info(sourceName(canonical), canonical);
    }

    private TensorInfo info(String name, String canonical) {
        return lookup().require(name, canonical);
    }

    private void checkShape(String name, long[] found, long[] expected) {
        lookup().checkShape(name, found, expected);
    }

    private TensorLookup lookup() {
        return new TensorLookup(source, origin, describeLayout());
    }

    /** Rows [from, to) of a tensor as compute-type data; zero-copy when the dtype already matches. */
    private WeightData load(String name, long fromRow, long toRow) {
        LoadedTensor t = source.forInference(name);
        long[] shape = t.shape().clone();
        long rowElems = 1;
        for (int i = 1; i < shape.length; i++) {
            rowElems *= shape[i];
        }
        if (shape.length > 0) {
            shape[0] = toRow - fromRow;
        }
        int elem = t.dtype() == DType.F16 ? 2 : 4;
        ByteBuffer all = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long start = fromRow * rowElems * elem;
        long end = shape.length == 0 ? all.remaining() : toRow * rowElems * elem;
        ByteBuffer bytes = all.position(Math.toIntExact(start)).limit(Math.toIntExact(end)).slice()
                .order(ByteOrder.LITTLE_ENDIAN);
        ElementType have = t.dtype() == DType.F16 ? ElementType.FLOAT16 : ElementType.FLOAT;
        if (have == computeType || keepStoredType) {
            return new WeightData(have, shape, bytes);
        }
        return new WeightData(computeType, shape, convert(bytes, have, computeType));
    }

    private static ByteBuffer convert(ByteBuffer in, ElementType from, ElementType to) {
        int n = in.remaining() / from.byteSize();
        ByteBuffer out = ByteBuffer.allocateDirect(n * to.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            float f = from == ElementType.FLOAT ? in.getFloat(i * 4) : Half.f16ToFloat(in.getShort(i * 2));
            if (to == ElementType.DOUBLE) {
                out.putDouble(i * 8, f);
            } else if (to == ElementType.FLOAT16) {
                out.putShort(i * 2, Half.floatToF16(f));
            } else {
                out.putFloat(i * 4, f);
            }
        }
        return out;
    }

    /** Canonical (original, unprefixed) name -> the checkpoint's name. */
    String sourceName(String canonical) {
        if (layout == Layout.ORIGINAL) {
            return prefix + canonical;
        }
        switch (canonical) {
            case "x_embedder.proj.weight":
                return "pos_embed.proj.weight";
            case "x_embedder.proj.bias":
                return "pos_embed.proj.bias";
            case "pos_embed":
                return "pos_embed.pos_embed";
            default:
                break;
        }
        String[][] direct = {
            {"t_embedder.mlp.0.", "time_text_embed.timestep_embedder.linear_1."},
            {"t_embedder.mlp.2.", "time_text_embed.timestep_embedder.linear_2."},
            {"y_embedder.mlp.0.", "time_text_embed.text_embedder.linear_1."},
            {"y_embedder.mlp.2.", "time_text_embed.text_embedder.linear_2."},
            {"context_embedder.", "context_embedder."},
            {"final_layer.linear.", "proj_out."},
            {"final_layer.adaLN_modulation.1.", "norm_out.linear."},
        };
        for (String[] d : direct) {
            if (canonical.startsWith(d[0])) {
                return d[1] + canonical.substring(d[0].length());
            }
        }
        Matcher m = BLOCK.matcher(canonical);
        if (!m.matches()) {
            return canonical;
        }
        String block = "transformer_blocks." + m.group(1) + ".";
        boolean context = m.group(2).equals("context_block");
        String rest = m.group(3);
        String[][] x = {
            {"adaLN_modulation.1.", "norm1.linear."},
            {"attn.proj.", "attn.to_out.0."},
            {"attn.ln_q.", "attn.norm_q."},
            {"attn.ln_k.", "attn.norm_k."},
            {"attn2.proj.", "attn2.to_out.0."},
            {"attn2.ln_q.", "attn2.norm_q."},
            {"attn2.ln_k.", "attn2.norm_k."},
            {"mlp.fc1.", "ff.net.0.proj."},
            {"mlp.fc2.", "ff.net.2."},
        };
        String[][] c = {
            {"adaLN_modulation.1.", "norm1_context.linear."},
            {"attn.proj.", "attn.to_add_out."},
            {"attn.ln_q.", "attn.norm_added_q."},
            {"attn.ln_k.", "attn.norm_added_k."},
            {"mlp.fc1.", "ff_context.net.0.proj."},
            {"mlp.fc2.", "ff_context.net.2."},
        };
        for (String[] d : context ? c : x) {
            if (rest.startsWith(d[0])) {
                return block + d[1] + rest.substring(d[0].length());
            }
        }
        return block + (context ? "context." : "") + rest;
    }

    private String diffusersQkv(String canonical, int part) {
        Matcher m = BLOCK.matcher(canonical);
        if (!m.matches()) {
            throw new IllegalArgumentException("canonical must name a joint-block qkv, found " + canonical);
        }
        String block = "transformer_blocks." + m.group(1) + ".";
        String rest = m.group(3);
        String kind = rest.substring(rest.lastIndexOf('.') + 1);
        String qkv = "qkv".substring(part, part + 1);
        if (m.group(2).equals("context_block")) {
            return block + "attn.add_" + qkv + "_proj." + kind;
        }
        String attn = rest.startsWith("attn2.") ? "attn2" : "attn";
        return block + attn + ".to_" + qkv + "." + kind;
    }
}
