package org.sd3j.onnx.lora;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.sd3j.internal.Checks;
import org.sd3j.onnx.clip.ClipConfig;
import org.sd3j.onnx.clip.ClipWeights;

/**
 * Names of the CLIP text encoders' Linear modules in LoRA files: the canonical form is the transformers name
 * relative to the model root ({@code text_model.encoder.layers.0.self_attn.q_proj}, as {@link ClipWeights} names
 * weights), which files prefix with the encoder ({@link LoraKeyStyle}):
 * <pre>
 * KOHYA            lora_te1_text_model_encoder_layers_0_self_attn_q_proj     (te1: CLIP-L, te2: CLIP-G)
 * DIFFUSERS        text_encoder.text_model.encoder.layers.0.self_attn.q_proj  (text_encoder_2: CLIP-G)
 * COMFYUI/ORIGINAL text_encoders.clip_l.transformer.text_model.encoder.layers.0.self_attn.q_proj
 * </pre>
 * Stateless.
 */
public final class ClipModules {
    /** Linear modules inside an encoder layer, as suffixes of {@code text_model.encoder.layers.N.}. */
    public static final List<String> LAYER_MODULES = List.of("self_attn.q_proj", "self_attn.k_proj",
            "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2");

    private static final String LAYER_PREFIX = "text_model.encoder.layers.";
    private static final Pattern CANONICAL = Pattern.compile(
            "text_model\\.encoder\\.layers\\.(\\d+)\\.(self_attn\\.(q|k|v|out)_proj|mlp\\.fc[12])");
    private static final Pattern KOHYA = Pattern.compile(
            "lora_te([12])_text_model_encoder_layers_(\\d+)_(self_attn_(?:q|k|v|out)_proj|mlp_fc[12])");
    private static final Pattern DIFFUSERS = Pattern.compile("text_encoder(_2)?\\.(.+)");
    private static final Pattern CHECKPOINT = Pattern.compile("text_encoders\\.(clip_l|clip_g)\\.transformer\\.(.+)");

    /** A module of one encoder. */
    public record Module(LoraComponent component, String module) {
    }

    private ClipModules() {
    }

    /**
     * Resolves a file's module name written in {@code style}: kohya's {@code lora_te1_/lora_te2_} names, diffusers'
     * {@code text_encoder[_2].} names, or the checkpoint's {@code text_encoders.clip_l|clip_g.transformer.} names
     * (COMFYUI and ORIGINAL).
     */
    public static Optional<Module> parse(String fileModule, LoraKeyStyle style) {
        switch (style) {
            case KOHYA -> {
                Matcher m = KOHYA.matcher(fileModule);
                if (!m.matches()) {
                    return Optional.empty();
                }
                String sub = m.group(3).startsWith("mlp_") ? "mlp." + m.group(3).substring(4)
                        : "self_attn." + m.group(3).substring("self_attn_".length());
                String module = LAYER_PREFIX + m.group(2) + "." + sub;
                return Optional.of(new Module(m.group(1).equals("1") ? LoraComponent.CLIP_L : LoraComponent.CLIP_G,
                        module));
            }
            case DIFFUSERS -> {
                Matcher m = DIFFUSERS.matcher(fileModule);
                return m.matches() && CANONICAL.matcher(m.group(2)).matches()
                        ? Optional.of(new Module(m.group(1) == null ? LoraComponent.CLIP_L : LoraComponent.CLIP_G,
                                m.group(2)))
                        : Optional.empty();
            }
            default -> {
                Matcher m = CHECKPOINT.matcher(fileModule);
                return m.matches() && CANONICAL.matcher(m.group(2)).matches()
                        ? Optional.of(new Module(m.group(1).equals("clip_l") ? LoraComponent.CLIP_L
                                : LoraComponent.CLIP_G, m.group(2)))
                        : Optional.empty();
            }
        }
    }

    /** The weight shapes of an encoder's Linear modules ({@code <module>.weight} -> [out, in]), layer by layer. */
    public static Map<String, long[]> linearShapes(ClipConfig config) {
        Checks.notNull(config, "config");
        Map<String, long[]> out = new LinkedHashMap<>();
        long d = config.width();
        for (int i = 0; i < config.layers(); i++) {
            for (String sub : LAYER_MODULES) {
                long rows = sub.equals("mlp.fc1") ? config.intermediate() : d;
                long cols = sub.equals("mlp.fc2") ? config.intermediate() : d;
                out.put(ClipWeights.layer(i, sub) + ".weight", new long[] {rows, cols});
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /** Whether {@code module} is a canonical CLIP Linear module name. */
    public static boolean isLinear(String module) {
        return CANONICAL.matcher(module).matches();
    }
}
