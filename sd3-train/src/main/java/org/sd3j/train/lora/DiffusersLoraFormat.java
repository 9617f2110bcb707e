package org.sd3j.train.lora;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.sd3j.ModelLoadException;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/**
 * The diffusers / PEFT layout ({@link LoraLayout#DIFFUSERS}). Writes what diffusers' {@code save_lora_weights}
 * writes for an SD3 transformer: tensors {@code transformer.<module>.lora_A.weight} / {@code .lora_B.weight} and
 * {@code __metadata__} {@code format = pt} plus {@code lora_adapter_metadata}, a JSON object with
 * {@code transformer.}-prefixed PEFT {@code LoraConfig} fields: {@code r} and {@code lora_alpha} (those of the
 * first module), {@code rank_pattern} / {@code alpha_pattern} (full module names of the modules that differ) and
 * {@code target_modules}. Internal.
 */
final class DiffusersLoraFormat {
    static final String METADATA_KEY = "lora_adapter_metadata";
    static final Set<String> RESERVED_METADATA = Set.of("format", METADATA_KEY);
    private static final String PREFIX = LayoutScan.DIFFUSERS_PREFIX;
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    private DiffusersLoraFormat() {
    }

    static void write(Path file, LoraWeights weights, Map<String, String> provenance) {
        SafetensorsWriter writer = SafetensorsWriter.create().metadata("format", "pt");
        Map<String, Integer> ranks = new LinkedHashMap<>();
        Map<String, Double> alphas = new LinkedHashMap<>();
        for (Map.Entry<String, LoraAdapter> e : weights.adapters().entrySet()) {
            String key = e.getKey();
            LoraAdapter adapter = e.getValue();
            List<String> names = ModuleNames.toDiffusers(key);
            if (names.size() == 1) {
                boolean swap = ModuleNames.scaleShiftSwapped(key, adapter.outFeatures(), adapter.inFeatures());
                Tensor b = swap ? QkvFusion.swapRowHalves(adapter.b()) : adapter.b();
                add(writer, names.get(0), new LoraAdapter(adapter.a(), b, adapter.alpha()), ranks, alphas);
            } else {
                LoraAdapter[] parts = QkvFusion.split(adapter);
                for (int p = 0; p < 3; p++) {
                    if (parts[p] != null) {
                        add(writer, names.get(p), parts[p], ranks, alphas);
                    }
                }
            }
        }
        writer.metadata(METADATA_KEY, adapterMetadata(ranks, alphas));
        provenance.forEach(writer::metadata);
        writer.write(file);
    }

    private static void add(SafetensorsWriter writer, String module, LoraAdapter adapter, Map<String, Integer> ranks,
                            Map<String, Double> alphas) {
        writer.add(PREFIX + module + ".lora_A.weight", adapter.a());
        writer.add(PREFIX + module + ".lora_B.weight", adapter.b());
        ranks.put(module, adapter.rank());
        alphas.put(module, adapter.alpha());
    }

    private static String adapterMetadata(Map<String, Integer> ranks, Map<String, Double> alphas) {
        Map<String, Object> config = new TreeMap<>();
        Iterator<String> modules = ranks.keySet().iterator();
        String first = modules.next();
        int r = ranks.get(first);
        double alpha = alphas.get(first);
        Map<String, Object> rankPattern = new TreeMap<>(NaturalOrder.INSTANCE);
        Map<String, Object> alphaPattern = new TreeMap<>(NaturalOrder.INSTANCE);
        ranks.forEach((m, rank) -> {
            if (rank != r) {
                rankPattern.put(m, rank);
            }
        });
        alphas.forEach((m, a) -> {
            if (a != alpha) {
                alphaPattern.put(m, number(a));
            }
        });
        List<String> targets = new ArrayList<>(ranks.keySet());
        targets.sort(NaturalOrder.INSTANCE);
        config.put(PREFIX + "r", r);
        config.put(PREFIX + "lora_alpha", number(alpha));
        config.put(PREFIX + "rank_pattern", rankPattern);
        config.put(PREFIX + "alpha_pattern", alphaPattern);
        config.put(PREFIX + "target_modules", targets);
        try {
            return JSON.writeValueAsString(config);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise LoRA metadata: " + e.getMessage(), e);
        }
    }

    /** Integral alphas as JSON integers (PEFT's {@code lora_alpha} is typed int), others as decimals. */
    private static Object number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? (Object) (long) v : (Object) v;
    }

    /** Adapters in canonical form: row halves of the 2-chunk adaLN swapped back, q/k/v fused. */
    static LoraWeights read(Path file, TensorSource source, List<StoredAdapter> stored) {
        Alphas alphas = Alphas.parse(file, source.metadata());
        Map<String, LoraAdapter> whole = new LinkedHashMap<>();
        Map<String, LoraAdapter[]> sliced = new LinkedHashMap<>();
        for (StoredAdapter s : stored) {
            Tensor a = source.toFloatTensor(s.aName());
            Tensor b = source.toFloatTensor(s.bName());
            String module = s.module().substring(PREFIX.length());
            double alpha = s.alphaName() != null
                    ? LoraFiles.alphaTensor(file, source, s.alphaName(), a.dim(0))
                    : alphas.alphaFor(module, a.dim(0));
            if (s.isSlice()) {
                sliced.computeIfAbsent(s.original(), k -> new LoraAdapter[3])[s.part()] = new LoraAdapter(a, b, alpha);
            } else {
                boolean swap = ModuleNames.scaleShiftSwapped(s.original(), b.dim(0), a.dim(1));
                whole.put(s.original(), new LoraAdapter(a, swap ? QkvFusion.swapRowHalves(b) : b, alpha));
            }
        }
        Map<String, LoraAdapter> all = new TreeMap<>(ModuleNames.MODEL_ORDER);
        all.putAll(whole);
        sliced.forEach((original, parts) -> {
            int rows = 0;
            for (LoraAdapter p : parts) {
                rows = p != null ? p.outFeatures() : rows;
            }
            all.put(original, QkvFusion.fuse(parts, rows));
        });
        return LoraWeights.of(all);
    }

    /** Alpha per module from {@code lora_adapter_metadata}, as PEFT resolves it; scale 1 without metadata. */
    private record Alphas(Double defaultAlpha, Map<String, Double> pattern) {
        static Alphas parse(Path file, Map<String, String> metadata) {
            String json = metadata.get(METADATA_KEY);
            if (json == null) {
                return new Alphas(null, Map.of());
            }
            JsonNode root;
            try {
                root = JSON.readTree(json);
            } catch (JsonProcessingException e) {
                throw new ModelLoadException(file, "__metadata__ '" + METADATA_KEY + "' is not valid JSON: "
                        + e.getOriginalMessage(), e);
            }
            if (!(root instanceof ObjectNode)) {
                throw new ModelLoadException(file, "__metadata__ '" + METADATA_KEY + "' must be a JSON object, found "
                        + root.getNodeType());
            }
            JsonNode alpha = field(root, "lora_alpha");
            Double defaultAlpha = null;
            if (alpha != null && !alpha.isNull()) {
                defaultAlpha = number(file, "lora_alpha", alpha);
            }
            Map<String, Double> pattern = new LinkedHashMap<>();
            JsonNode patterns = field(root, "alpha_pattern");
            if (patterns != null && patterns.isObject()) {
                patterns.fields().forEachRemaining(e -> pattern.put(e.getKey(),
                        number(file, "alpha_pattern." + e.getKey(), e.getValue())));
            }
            return new Alphas(defaultAlpha, pattern);
        }

        private static JsonNode field(JsonNode root, String name) {
            JsonNode prefixed = root.get(PREFIX + name);
            return prefixed != null ? prefixed : root.get(name);
        }

        private static double number(Path file, String what, JsonNode n) {
            if (!n.isNumber() || !(n.asDouble() > 0) || !Double.isFinite(n.asDouble())) {
                throw new ModelLoadException(file, "__metadata__ '" + METADATA_KEY + "' has " + what + " = " + n
                        + ", expected a finite number > 0");
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
}
