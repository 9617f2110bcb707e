package org.sd3j.train.lora;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/**
 * kohya's layout ({@link LoraLayout#KOHYA}), as sd-scripts writes it and ComfyUI reads it for SD3:
 * {@code lora_unet_<original module, dots as underscores>.lora_down.weight} [r, in], {@code .lora_up.weight}
 * [out, r], {@code .alpha} (float32 scalar); {@code __metadata__} {@code format = pt} and sd-scripts'
 * {@code ss_network_dim} / {@code ss_network_alpha} (those of the first module). Internal.
 */
final class KohyaLoraFormat {
    static final Set<String> RESERVED_METADATA = Set.of("format", "ss_network_dim", "ss_network_alpha");

    private KohyaLoraFormat() {
    }

    static void write(Path file, LoraWeights weights, Map<String, String> provenance) {
        SafetensorsWriter writer = SafetensorsWriter.create().metadata("format", "pt");
        LoraAdapter first = weights.adapters().values().iterator().next();
        writer.metadata("ss_network_dim", Integer.toString(first.rank()));
        writer.metadata("ss_network_alpha", alphaText(first.alpha()));
        for (Map.Entry<String, LoraAdapter> e : weights.adapters().entrySet()) {
            String module = ModuleNames.toKohya(e.getKey());
            LoraAdapter a = e.getValue();
            writer.add(module + ".lora_down.weight", a.a());
            writer.add(module + ".lora_up.weight", a.b());
            writer.add(module + ".alpha", new float[] {(float) a.alpha()});
        }
        provenance.forEach(writer::metadata);
        writer.write(file);
    }

    private static String alphaText(double alpha) {
        return alpha == Math.rint(alpha) && Math.abs(alpha) < 1e15 ? Long.toString((long) alpha)
                : Double.toString(alpha);
    }

    /**
     * Adapters as stored (kohya keeps qkv fused and the original row order), in model order; a missing or 0 alpha
     * means r.
     */
    static LoraWeights read(Path file, TensorSource source, List<StoredAdapter> stored) {
        Map<String, LoraAdapter> adapters = new TreeMap<>(ModuleNames.MODEL_ORDER);
        for (StoredAdapter s : stored) {
            Tensor a = source.toFloatTensor(s.aName());
            Tensor b = source.toFloatTensor(s.bName());
            double alpha = s.alphaName() == null ? a.dim(0) : LoraFiles.alphaTensor(file, source, s.alphaName(),
                    a.dim(0));
            adapters.put(s.original(), new LoraAdapter(a, b, alpha));
        }
        return LoraWeights.of(adapters);
    }
}
