package org.sd3j.train.lora;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import org.sd3j.internal.Checks;
import org.sd3j.onnx.lora.MmditModules;

/**
 * Which Linear modules of the MMDiT get LoRA adapters. Presets (SPEC §7):
 * <ul>
 *   <li>{@link #diffusersDefault()}: the attention projections of both streams, as diffusers' SD3 LoRA script
 *       ({@code to_q, to_k, to_v, to_out.0, add_q_proj, add_k_proj, add_v_proj, to_add_out}); in original names
 *       {@code joint_blocks.N.x_block.attn.qkv}, {@code .attn.proj}, {@code joint_blocks.N.context_block.attn.qkv},
 *       {@code .attn.proj} (not the MMDiT-X {@code attn2});</li>
 *   <li>{@link #kohya()}: every Linear inside the joint blocks: qkv, proj, attn2.qkv/proj, mlp.fc1/fc2 and
 *       adaLN_modulation.1 of both streams;</li>
 *   <li>{@link #allLinear()}: every Linear, the embedders and final layer included (SD3's DPO stage).</li>
 * </ul>
 * Custom targets match glob or regex patterns against module names without {@code .weight}, in either naming
 * ({@link NameStyle}). A fused qkv is one module in original names and three in diffusers names: with diffusers
 * names it is selected when its q, k and v names all match, and a pattern that matches only some of them is an
 * error, since one fused adapter cannot leave some of the three projections alone while it trains. Immutable.
 */
public final class LoraTargets {
    /** The naming the patterns of custom targets are written in. */
    public enum NameStyle {
        /** Stability's checkpoint keys, e.g. {@code joint_blocks.0.x_block.attn.qkv}. */
        ORIGINAL,
        /** diffusers' module names, e.g. {@code transformer_blocks.0.attn.to_q}. */
        DIFFUSERS
    }

    private static final Pattern DIFFUSERS_DEFAULT = Pattern.compile(
            "joint_blocks\\.\\d+\\.(x_block|context_block)\\.attn\\.(qkv|proj)");
    private static final Pattern KOHYA = Pattern.compile("joint_blocks\\.\\d+\\.(x_block|context_block)\\..+");

    private final String description;
    private final NameStyle style;
    private final Predicate<String> matcher;

    private LoraTargets(String description, NameStyle style, Predicate<String> matcher) {
        this.description = description;
        this.style = style;
        this.matcher = matcher;
    }

    /** Attention projections of both streams (diffusers' default). */
    public static LoraTargets diffusersDefault() {
        return new LoraTargets("diffusers default (attention projections)", NameStyle.ORIGINAL,
                n -> DIFFUSERS_DEFAULT.matcher(n).matches());
    }

    /** Every Linear in the joint blocks (kohya's default). */
    public static LoraTargets kohya() {
        return new LoraTargets("kohya (every Linear in the joint blocks)", NameStyle.ORIGINAL,
                n -> KOHYA.matcher(n).matches());
    }

    /** Every Linear module, embedders and final layer included. */
    public static LoraTargets allLinear() {
        return new LoraTargets("every Linear", NameStyle.ORIGINAL, n -> true);
    }

    /**
     * Modules whose name matches one of {@code globs} as a whole: {@code *} matches within one dot-separated
     * segment, {@code **} across segments, {@code ?} one character other than a dot. Example:
     * {@code glob(ORIGINAL, "joint_blocks.*.x_block.mlp.*")}, {@code glob(DIFFUSERS, "**.attn.to_?")}.
     *
     * @throws IllegalArgumentException for a null style, no patterns, or a null or empty pattern
     */
    public static LoraTargets glob(NameStyle style, String... globs) {
        List<Pattern> patterns = new ArrayList<>();
        for (String g : checkPatterns(style, globs)) {
            patterns.add(Pattern.compile(globToRegex(g)));
        }
        return new LoraTargets("glob " + style + " " + Arrays.toString(globs), style, anyMatches(patterns));
    }

    /**
     * Modules whose name matches one of the Java regular expressions {@code regexes} as a whole.
     *
     * @throws IllegalArgumentException for a null style, no patterns, a null or empty pattern, or invalid syntax
     */
    public static LoraTargets regex(NameStyle style, String... regexes) {
        List<Pattern> patterns = new ArrayList<>();
        for (String r : checkPatterns(style, regexes)) {
            try {
                patterns.add(Pattern.compile(r));
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("regexes must be valid regular expressions, found '" + r + "': "
                        + e.getDescription(), e);
            }
        }
        return new LoraTargets("regex " + style + " " + Arrays.toString(regexes), style, anyMatches(patterns));
    }

    private static String[] checkPatterns(NameStyle style, String[] patterns) {
        Checks.notNull(style, "style");
        Checks.notNull(patterns, "patterns");
        if (patterns.length == 0) {
            throw new IllegalArgumentException("patterns must be non-empty, found none");
        }
        for (String p : patterns) {
            if (p == null || p.isEmpty()) {
                throw new IllegalArgumentException("patterns must be non-empty strings, found "
                        + (p == null ? "null" : "''"));
            }
        }
        return patterns.clone();
    }

    private static Predicate<String> anyMatches(List<Pattern> patterns) {
        return name -> patterns.stream().anyMatch(p -> p.matcher(name).matches());
    }

    static String globToRegex(String glob) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            if (c == '*') {
                if (i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
                    sb.append(".*");
                    i++;
                } else {
                    sb.append("[^.]*");
                }
            } else if (c == '?') {
                sb.append("[^.]");
            } else {
                sb.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return sb.toString();
    }

    /**
     * The original module keys (without {@code .weight}) this selects among a model's Linear weights, in the
     * iteration order of {@code modelShapes} (e.g. {@link LinearLayers#of}). Entries that are not 2-D weights of a
     * known Linear module (norms, the patch-embedding conv, biases) are ignored.
     *
     * @param modelShapes the model's weight shapes by original name
     * @throws IllegalArgumentException if nothing is selected, or a diffusers-name pattern selects part of a fused
     *                                  qkv
     */
    public List<String> select(Map<String, long[]> modelShapes) {
        Checks.notNull(modelShapes, "modelShapes");
        List<String> selected = new ArrayList<>();
        List<String> linear = new ArrayList<>();
        for (Map.Entry<String, long[]> e : modelShapes.entrySet()) {
            String name = e.getKey();
            if (!name.endsWith(".weight") || e.getValue() == null || e.getValue().length != 2) {
                continue;
            }
            String module = name.substring(0, name.length() - ".weight".length());
            if (!MmditModules.isLinear(module)) {
                continue;
            }
            linear.add(module);
            if (matches(module)) {
                selected.add(module);
            }
        }
        if (selected.isEmpty()) {
            throw new IllegalArgumentException("targets must select at least one Linear module, found none for "
                    + description + " among " + linear.size() + " Linear modules"
                    + (linear.isEmpty() ? "" : " such as '" + linear.get(0) + "'"));
        }
        return List.copyOf(selected);
    }

    private boolean matches(String original) {
        if (style == NameStyle.ORIGINAL) {
            return matcher.test(original);
        }
        List<String> names = MmditModules.toDiffusers(original);
        List<String> hits = names.stream().filter(matcher).toList();
        if (!hits.isEmpty() && hits.size() < names.size()) {
            throw new IllegalArgumentException("patterns must select all or none of a fused projection's "
                    + names + ", found only " + hits + " for " + description
                    + ": the graph's '" + original + "' is one adapter over q, k and v");
        }
        return !hits.isEmpty();
    }

    @Override
    public String toString() {
        return "LoraTargets[" + description + "]";
    }
}
