package org.sd3j.onnx.lora;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.sd3j.ModelLoadException;

/**
 * Alpha per module from a diffusers file's {@code __metadata__} {@code lora_adapter_metadata} (a PEFT
 * {@code LoraConfig} per model part, keys prefixed {@code transformer.}, {@code text_encoder.} or
 * {@code text_encoder_2.}), resolved as PEFT resolves it; scale 1 (alpha = r) without metadata. Immutable.
 */
final class DiffusersAlphas {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Double defaultAlpha;
    private final Map<String, Double> pattern;

    private DiffusersAlphas(Double defaultAlpha, Map<String, Double> pattern) {
        this.defaultAlpha = defaultAlpha;
        this.pattern = pattern;
    }

    /** The alphas of the part whose metadata keys start with {@code prefix} (e.g. {@code transformer.}). */
    static DiffusersAlphas parse(Path file, Map<String, String> metadata, String prefix) {
        String json = metadata.get(LoraFileReader.ADAPTER_METADATA);
        if (json == null) {
            return new DiffusersAlphas(null, Map.of());
        }
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ModelLoadException(file, "__metadata__ '" + LoraFileReader.ADAPTER_METADATA
                    + "' is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (!(root instanceof ObjectNode)) {
            throw new ModelLoadException(file, "__metadata__ '" + LoraFileReader.ADAPTER_METADATA
                    + "' must be a JSON object, found " + root.getNodeType());
        }
        JsonNode alpha = field(root, prefix, "lora_alpha");
        Double defaultAlpha = null;
        if (alpha != null && !alpha.isNull()) {
            defaultAlpha = number(file, "lora_alpha", alpha);
        }
        Map<String, Double> pattern = new LinkedHashMap<>();
        JsonNode patterns = field(root, prefix, "alpha_pattern");
        if (patterns != null && patterns.isObject()) {
            patterns.fields().forEachRemaining(e -> pattern.put(e.getKey(),
                    number(file, "alpha_pattern." + e.getKey(), e.getValue())));
        }
        return new DiffusersAlphas(defaultAlpha, pattern);
    }

    private static JsonNode field(JsonNode root, String prefix, String name) {
        JsonNode prefixed = root.get(prefix + name);
        return prefixed != null ? prefixed : root.get(name);
    }

    private static double number(Path file, String what, JsonNode n) {
        if (!n.isNumber() || !(n.asDouble() > 0) || !Double.isFinite(n.asDouble())) {
            throw new ModelLoadException(file, "__metadata__ '" + LoraFileReader.ADAPTER_METADATA + "' has " + what
                    + " = " + n + ", expected a finite number > 0");
        }
        return n.asDouble();
    }

    /** PEFT: an alpha_pattern key matching the module (exactly, or as a regex over a dotted suffix) wins. */
    double alphaFor(String module, int rank) {
        Double exact = pattern.get(module);
        if (exact != null) {
            return exact;
        }
        for (Map.Entry<String, Double> e : pattern.entrySet()) {
            try {
                if (Pattern.compile("(.*\\.)?(" + e.getKey() + ")$").matcher(module).matches()) {
                    return e.getValue();
                }
            } catch (PatternSyntaxException ignored) {
                // Not a regex; PEFT would fail on it too, and the exact lookup above already missed.
            }
        }
        return defaultAlpha != null ? defaultAlpha : rank;
    }
}
