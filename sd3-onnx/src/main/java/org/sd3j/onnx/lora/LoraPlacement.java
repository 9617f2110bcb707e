package org.sd3j.onnx.lora;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.sd3j.internal.Checks;
import org.sd3j.lora.LoraRequest;
import org.sd3j.tensor.Tensor;

/**
 * Reads LoRA files for one part of a model and places their adapters on the weights that part stores: the common
 * first step of merging LoRAs into weights and of feeding them to a graph per generation. Stateless.
 */
public final class LoraPlacement {
    /** Finds where a model stores the weight a LoRA module adapts. */
    @FunctionalInterface
    public interface Locator {
        /**
         * The stored weights that together hold the module's rows (one, or three for a fused qkv stored as q, k, v),
         * or none when this model's weights cannot be matched to the module.
         */
        List<StoredLinear> locate(LoraModule module);
    }

    /**
     * The placed adapters of every file, in file order.
     *
     * @param adapters the adapters, each with its file's weight folded into its scale
     * @param parts    per file, the model parts it adapts ({@link LoraComponent#part()})
     * @param merged   per file that adapts the part, what was placed and what could not be
     */
    public record Placed(List<PlacedAdapter> adapters, Map<Path, Set<String>> parts, List<MergedLora> merged) {
    }

    private LoraPlacement() {
    }

    /**
     * Reads {@code loras} (weight-0 entries are skipped: they change nothing) and places their adapters for
     * {@code component}.
     *
     * @param shapes  the part's Linear weight shapes by canonical name ({@code <module>.weight} -> [out, in]), checked
     *                before any tensor is read, every adapted weight required; null to check each adapter against
     *                the weight the locator finds and report the modules it finds none for (ONNX exports)
     * @param locator where the part stores each adapted weight
     * @throws org.sd3j.ModelLoadException naming the file and the first offending tensor for a file that cannot be
     *                                     read, has keys of no known layout, or does not fit
     */
    public static Placed place(List<LoraRequest> loras, LoraComponent component, Map<String, long[]> shapes,
                               Locator locator) {
        Checks.notNull(loras, "loras");
        Checks.notNull(component, "component");
        List<PlacedAdapter> placed = new ArrayList<>();
        Map<Path, Set<String>> parts = new LinkedHashMap<>();
        List<MergedLora> merged = new ArrayList<>();
        for (LoraRequest lora : loras) {
            if (lora.weight() == 0) {
                continue;
            }
            try (LoraFileReader reader = LoraFileReader.open(lora.file())) {
                Set<String> fileParts = parts.computeIfAbsent(lora.file(), f -> new LinkedHashSet<>());
                reader.components().forEach(c -> fileParts.add(c.part()));
                List<LoraModule> modules = reader.modules(component);
                if (!modules.isEmpty()) {
                    merged.add(placeFile(reader, lora, component, modules, shapes, locator, placed));
                }
            }
        }
        return new Placed(List.copyOf(placed), parts, List.copyOf(merged));
    }

    /** Places one file's {@code modules} into {@code placed}; returns what it placed and what it could not. */
    private static MergedLora placeFile(LoraFileReader reader, LoraRequest lora, LoraComponent component,
                                        List<LoraModule> modules, Map<String, long[]> shapes, Locator locator,
                                        List<PlacedAdapter> placed) {
        if (shapes != null) {
            reader.check(modules, Map.of(component, shapes));
        }
        List<LoraModule> found = new ArrayList<>();
        List<List<StoredLinear>> at = new ArrayList<>();
        List<String> unmapped = new ArrayList<>();
        Map<String, long[]> foundShapes = new LinkedHashMap<>();
        for (LoraModule m : modules) {
            List<StoredLinear> s = locator.locate(m);
            if (s.isEmpty()) {
                unmapped.add(m.describeTarget());
                continue;
            }
            found.add(m);
            at.add(s);
            long rows = s.stream().mapToLong(StoredLinear::rows).sum();
            foundShapes.put(m.module() + ".weight", new long[] {m.isSlice() ? 3 * rows : rows,
                    s.get(0).inFeatures()});
        }
        if (shapes == null) {
            reader.check(found, Map.of(component, foundShapes));
        }
        List<LoraTensors> tensors = reader.read(found);
        for (int i = 0; i < tensors.size(); i++) {
            LoraTensors t = tensors.get(i);
            for (StoredLinear s : at.get(i)) {
                Tensor b = s.swapHalves() ? MmditModules.swapScaleShift(t.b()) : t.b();
                if (s.moduleRow() != 0 || s.rows() != b.dim(0)) {
                    b = b.slice(Math.toIntExact(s.moduleRow()), Math.toIntExact(s.moduleRow() + s.rows()));
                }
                placed.add(new PlacedAdapter(s, t.a(), b, lora.weight() * t.scale()));
            }
        }
        return new MergedLora(lora.file(), lora.weight(), component, found.size(), unmapped);
    }
}
