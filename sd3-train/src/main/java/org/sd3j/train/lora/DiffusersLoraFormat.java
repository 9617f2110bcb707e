package org.sd3j.train.lora;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import org.sd3j.onnx.lora.LoraFileReader;
import org.sd3j.onnx.lora.MmditModules;
import org.sd3j.onnx.lora.NaturalOrder;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.tensor.Tensor;

/**
 * The diffusers / PEFT layout ({@link LoraLayout#DIFFUSERS}). Writes what diffusers' {@code save_lora_weights}
 * writes for an SD3 transformer: tensors {@code transformer.<module>.lora_A.weight} / {@code .lora_B.weight} and
 * {@code __metadata__} {@code format = pt} plus {@code lora_adapter_metadata}, a JSON object with
 * {@code transformer.}-prefixed PEFT {@code LoraConfig} fields: {@code r} and {@code lora_alpha} (those of the
 * first module), {@code rank_pattern} / {@code alpha_pattern} (full module names of the modules that differ) and
 * {@code target_modules}. Reading is {@link LoraFileReader}'s. Internal.
 */
final class DiffusersLoraFormat {
    static final String METADATA_KEY = LoraFileReader.ADAPTER_METADATA;
    static final Set<String> RESERVED_METADATA = Set.of("format", METADATA_KEY);
    private static final String PREFIX = "transformer.";
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
            List<String> names = MmditModules.toDiffusers(key);
            if (names.size() == 1) {
                boolean swap = MmditModules.scaleShiftSwapped(key, adapter.outFeatures(), adapter.inFeatures());
                Tensor b = swap ? MmditModules.swapScaleShift(adapter.b()) : adapter.b();
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
}
