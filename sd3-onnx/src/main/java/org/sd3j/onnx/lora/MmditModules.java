package org.sd3j.onnx.lora;

import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.sd3j.internal.Checks;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.tensor.Tensor;

/**
 * Names of the MMDiT's Linear modules in the three naming schemes a LoRA file can use (SPEC §5): Stability's
 * original checkpoint keys (the canonical form, e.g. {@code joint_blocks.0.x_block.attn.qkv}), diffusers'
 * {@code SD3Transformer2DModel} modules (which split the fused qkv into three), and kohya's
 * {@code lora_unet_}-prefixed, underscore-joined original names; and the shapes of those modules' weights.
 * Stateless.
 */
public final class MmditModules {
    /** Linear modules inside a joint block, as original suffixes. */
    public static final List<String> BLOCK_MODULES = List.of("attn.qkv", "attn.proj", "attn2.qkv", "attn2.proj",
            "mlp.fc1", "mlp.fc2", "adaLN_modulation.1");
    /** Linear modules outside the blocks, as original names. */
    public static final List<String> TOP_MODULES = List.of("t_embedder.mlp.0", "t_embedder.mlp.2", "y_embedder.mlp.0",
            "y_embedder.mlp.2", "context_embedder", "final_layer.linear", "final_layer.adaLN_modulation.1");

    public static final String KOHYA_PREFIX = "lora_unet_";

    private static final Pattern ORIGINAL_BLOCK = Pattern.compile(
            "joint_blocks\\.(\\d+)\\.(x_block|context_block)\\.(.+)");
    private static final Pattern DIFFUSERS_BLOCK = Pattern.compile("transformer_blocks\\.(\\d+)\\.(.+)");
    private static final Pattern KOHYA_BLOCK = Pattern.compile(
            "lora_unet_joint_blocks_(\\d+)_(x_block|context_block)_(.+)");
    private static final String[] QKV = {"q", "k", "v"};

    /** Top-level original -> diffusers. */
    private static final Map<String, String> TOP = new LinkedHashMap<>();
    /** Block suffix (original) -> diffusers suffix, x stream. qkv entries have a {@code %s} for q, k or v. */
    private static final Map<String, String> X_STREAM = new LinkedHashMap<>();
    /** Block suffix (original) -> diffusers suffix, context stream. */
    private static final Map<String, String> CONTEXT_STREAM = new LinkedHashMap<>();

    static {
        TOP.put("t_embedder.mlp.0", "time_text_embed.timestep_embedder.linear_1");
        TOP.put("t_embedder.mlp.2", "time_text_embed.timestep_embedder.linear_2");
        TOP.put("y_embedder.mlp.0", "time_text_embed.text_embedder.linear_1");
        TOP.put("y_embedder.mlp.2", "time_text_embed.text_embedder.linear_2");
        TOP.put("context_embedder", "context_embedder");
        TOP.put("final_layer.linear", "proj_out");
        TOP.put("final_layer.adaLN_modulation.1", "norm_out.linear");
        X_STREAM.put("attn.qkv", "attn.to_%s");
        X_STREAM.put("attn.proj", "attn.to_out.0");
        X_STREAM.put("attn2.qkv", "attn2.to_%s");
        X_STREAM.put("attn2.proj", "attn2.to_out.0");
        X_STREAM.put("mlp.fc1", "ff.net.0.proj");
        X_STREAM.put("mlp.fc2", "ff.net.2");
        X_STREAM.put("adaLN_modulation.1", "norm1.linear");
        CONTEXT_STREAM.put("attn.qkv", "attn.add_%s_proj");
        CONTEXT_STREAM.put("attn.proj", "attn.to_add_out");
        CONTEXT_STREAM.put("mlp.fc1", "ff_context.net.0.proj");
        CONTEXT_STREAM.put("mlp.fc2", "ff_context.net.2");
        CONTEXT_STREAM.put("adaLN_modulation.1", "norm1_context.linear");
    }

    /** A diffusers module resolved to its original module and, for q/k/v projections, which rows. */
    public record Part(String original, int part) {
        /** Whole module (not a q/k/v slice). */
        public static final int WHOLE = -1;

        public boolean isSlice() {
            return part != WHOLE;
        }

        /** "q", "k" or "v"; empty for a whole module. */
        public String partName() {
            return isSlice() ? QKV[part] : "";
        }
    }

    /**
     * The model's order: embedders, then block by block (x stream before context stream, modules in
     * {@link #BLOCK_MODULES} order), then the final layer; unknown names last, by name.
     */
    public static final Comparator<String> MODEL_ORDER = Comparator.comparingLong(MmditModules::position)
            .thenComparing(Comparator.naturalOrder());

    private MmditModules() {
    }

    private static long position(String original) {
        int top = TOP_MODULES.indexOf(original);
        if (top >= 0) {
            return top < 5 ? top : (1L << 40) + top; // embedders first, final layer last
        }
        Matcher m = ORIGINAL_BLOCK.matcher(original);
        int sub = m.matches() ? BLOCK_MODULES.indexOf(m.group(3)) : -1;
        if (sub < 0 || m.group(1).length() > 9) {
            return Long.MAX_VALUE;
        }
        long block = Long.parseLong(m.group(1));
        return 16 + block * 32 + (m.group(2).equals("x_block") ? 0 : 16) + sub;
    }

    /** Whether {@code original} names a Linear module of the MMDiT this package knows. */
    public static boolean isLinear(String original) {
        if (TOP.containsKey(original)) {
            return true;
        }
        Matcher m = ORIGINAL_BLOCK.matcher(original);
        return m.matches() && stream(m.group(2)).containsKey(m.group(3));
    }

    /** Whether {@code original} is a fused q|k|v projection. */
    public static boolean isFusedQkv(String original) {
        return isLinear(original) && original.endsWith(".qkv");
    }

    /**
     * The diffusers module name(s) of an original Linear: one, or three (q, k, v in row order) for a fused qkv.
     *
     * @throws IllegalArgumentException if {@code original} is not a known Linear module
     */
    public static List<String> toDiffusers(String original) {
        String top = TOP.get(original);
        if (top != null) {
            return List.of(top);
        }
        Matcher m = ORIGINAL_BLOCK.matcher(original);
        String suffix = m.matches() ? stream(m.group(2)).get(m.group(3)) : null;
        if (suffix == null) {
            throw new IllegalArgumentException("original must name an MMDiT Linear module, found '" + original + "'");
        }
        String block = "transformer_blocks." + m.group(1) + ".";
        if (suffix.contains("%s")) {
            return List.of(block + String.format(suffix, "q"), block + String.format(suffix, "k"),
                    block + String.format(suffix, "v"));
        }
        return List.of(block + suffix);
    }

    /** The original module (and q/k/v part) of a diffusers module name, if it is a known Linear. */
    public static Optional<Part> fromDiffusers(String diffusers) {
        for (Map.Entry<String, String> e : TOP.entrySet()) {
            if (e.getValue().equals(diffusers)) {
                return Optional.of(new Part(e.getKey(), Part.WHOLE));
            }
        }
        Matcher m = DIFFUSERS_BLOCK.matcher(diffusers);
        if (!m.matches()) {
            return Optional.empty();
        }
        String rest = m.group(2);
        for (String streamName : List.of("x_block", "context_block")) {
            for (Map.Entry<String, String> e : stream(streamName).entrySet()) {
                String original = "joint_blocks." + m.group(1) + "." + streamName + "." + e.getKey();
                if (!e.getValue().contains("%s")) {
                    if (e.getValue().equals(rest)) {
                        return Optional.of(new Part(original, Part.WHOLE));
                    }
                    continue;
                }
                for (int p = 0; p < 3; p++) {
                    if (String.format(e.getValue(), QKV[p]).equals(rest)) {
                        return Optional.of(new Part(original, p));
                    }
                }
            }
        }
        return Optional.empty();
    }

    /** kohya's module name: {@code lora_unet_} + the original name with dots replaced by underscores. */
    public static String toKohya(String original) {
        if (!isLinear(original)) {
            throw new IllegalArgumentException("original must name an MMDiT Linear module, found '" + original + "'");
        }
        return KOHYA_PREFIX + original.replace('.', '_');
    }

    /**
     * The original module of a kohya module name, if it is a known Linear. Underscores are ambiguous
     * ({@code x_block}, {@code adaLN_modulation}), so the name is matched against the known modules rather than
     * split.
     */
    public static Optional<String> fromKohya(String kohya) {
        for (String top : TOP.keySet()) {
            if ((KOHYA_PREFIX + top.replace('.', '_')).equals(kohya)) {
                return Optional.of(top);
            }
        }
        Matcher m = KOHYA_BLOCK.matcher(kohya);
        if (!m.matches()) {
            return Optional.empty();
        }
        for (String suffix : stream(m.group(2)).keySet()) {
            if (suffix.replace('.', '_').equals(m.group(3))) {
                return Optional.of("joint_blocks." + m.group(1) + "." + m.group(2) + "." + suffix);
            }
        }
        return Optional.empty();
    }

    /**
     * Whether diffusers stores this module's output rows as (scale, shift) where the original has (shift, scale):
     * {@code norm_out.linear} and the last block's {@code norm1_context.linear}, recognised by its 2-chunk output
     * ({@code out == 2 * in}; other blocks' context adaLN has 6 chunks).
     */
    public static boolean scaleShiftSwapped(String original, long outFeatures, long inFeatures) {
        if (original.equals("final_layer.adaLN_modulation.1")) {
            return true;
        }
        return original.endsWith(".context_block.adaLN_modulation.1") && outFeatures == 2 * inFeatures;
    }

    /**
     * The weight shapes of a configuration's Linear modules ({@code <module>.weight} -> [out, in]): per block qkv
     * [3D, D], proj [D, D], fc1 [mlp, D], fc2 [D, mlp], adaLN [6D, D] ([9D, D] for MMDiT-X x blocks, with attn2);
     * the last block's context stream has only qkv and a 2-chunk adaLN [2D, D]. Order: the embedders, then block by
     * block (x stream, then context stream), then the final layer.
     */
    public static Map<String, long[]> linearShapes(MmditConfig config) {
        Checks.notNull(config, "config");
        long d = config.hiddenSize();
        long mlp = config.mlpHidden();
        Map<String, long[]> out = new LinkedHashMap<>();
        put(out, "t_embedder.mlp.0", d, MmditConfig.FREQUENCY_EMBEDDING);
        put(out, "t_embedder.mlp.2", d, d);
        put(out, "y_embedder.mlp.0", d, config.pooledDim());
        put(out, "y_embedder.mlp.2", d, d);
        put(out, "context_embedder", d, config.contextDim());
        for (int i = 0; i < config.depth(); i++) {
            boolean last = i == config.depth() - 1;
            boolean mmditX = config.selfAttentionLayers().contains(i);
            String x = "joint_blocks." + i + ".x_block.";
            put(out, x + "attn.qkv", 3 * d, d);
            put(out, x + "attn.proj", d, d);
            if (mmditX) {
                put(out, x + "attn2.qkv", 3 * d, d);
                put(out, x + "attn2.proj", d, d);
            }
            put(out, x + "mlp.fc1", mlp, d);
            put(out, x + "mlp.fc2", d, mlp);
            put(out, x + "adaLN_modulation.1", (mmditX ? 9 : 6) * d, d);
            String c = "joint_blocks." + i + ".context_block.";
            put(out, c + "attn.qkv", 3 * d, d);
            if (!last) {
                put(out, c + "attn.proj", d, d);
                put(out, c + "mlp.fc1", mlp, d);
                put(out, c + "mlp.fc2", d, mlp);
            }
            put(out, c + "adaLN_modulation.1", (last ? 2 : 6) * d, d);
        }
        long patchOut = (long) config.patchSize() * config.patchSize() * config.outChannels();
        put(out, "final_layer.linear", patchOut, d);
        put(out, "final_layer.adaLN_modulation.1", 2 * d, d);
        return Collections.unmodifiableMap(out);
    }

    /**
     * The shapes of the Linear weights present in a checkpoint, whatever its layout (diffusers' separate q/k/v are
     * reported fused, as the original stores them), in {@link #linearShapes(MmditConfig)}'s order. Reads headers
     * only.
     */
    public static Map<String, long[]> linearShapes(MmditWeights weights) {
        Checks.notNull(weights, "weights");
        Map<String, long[]> out = new LinkedHashMap<>();
        for (String top : TOP_MODULES.subList(0, 5)) {
            putIfPresent(out, weights, top);
        }
        for (int i = 0; i < weights.blockCount(); i++) {
            for (String stream : new String[] {"x_block", "context_block"}) {
                for (String sub : BLOCK_MODULES) {
                    if (stream.equals("context_block") && sub.startsWith("attn2.")) {
                        continue; // only image streams have attn2; diffusers would answer with add_q_proj
                    }
                    putIfPresent(out, weights, "joint_blocks." + i + "." + stream + "." + sub);
                }
            }
        }
        for (String top : TOP_MODULES.subList(5, TOP_MODULES.size())) {
            putIfPresent(out, weights, top);
        }
        return Collections.unmodifiableMap(out);
    }

    private static void putIfPresent(Map<String, long[]> out, MmditWeights weights, String module) {
        String name = module + ".weight";
        if (weights.has(name)) {
            out.put(name, weights.shape(name));
        }
    }

    private static void put(Map<String, long[]> out, String module, long rows, long cols) {
        out.put(module + ".weight", new long[] {rows, cols});
    }

    /**
     * A new [out, r] tensor with the two row halves of {@code rows} exchanged: the conversion between the original's
     * (shift, scale) and diffusers' (scale, shift) order (its own inverse).
     *
     * @throws IllegalArgumentException for an odd number of rows
     */
    public static Tensor swapScaleShift(Tensor rows) {
        int out = rows.dim(0);
        if (out % 2 != 0) {
            throw new IllegalArgumentException("b must have an even number of rows to swap halves, found " + rows);
        }
        int h = out / 2;
        return Tensor.concat(0, rows.slice(h, out), rows.slice(0, h));
    }

    private static Map<String, String> stream(String name) {
        return name.equals("x_block") ? X_STREAM : CONTEXT_STREAM;
    }
}
