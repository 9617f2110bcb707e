package org.sd3j.onnx.lora;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.tensor.Tensor;

/**
 * One generation's LoRAs as the inputs of a graph built with {@link LoraGraphInputs} (switchable LoRA): per adapted
 * weight, every adapter of every file stacked along the rank, {@code A = [A_1; A_2; ...]} [R, in] and
 * {@code B = [s_1 B_1, s_2 B_2, ...]} [out, R] with each B placed on its rows (zero elsewhere) and scaled by its
 * file's weight times {@code alpha / r}, so that {@code B A = sum_i s_i B_i A_i} exactly as merging adds it. Immutable.
 */
public final class LoraInputs {
    private final Map<String, Tensor> tensors;
    private final Map<String, long[]> shapes;
    private final Set<String> keys;

    private LoraInputs(Map<String, Tensor> tensors, Map<String, long[]> shapes, Set<String> keys) {
        this.tensors = Collections.unmodifiableMap(tensors);
        this.shapes = shapes;
        this.keys = Collections.unmodifiableSet(keys);
    }

    /** Stacks {@code adapters} (none stored transposed) per weight. */
    public static LoraInputs of(List<PlacedAdapter> adapters) {
        Map<String, List<PlacedAdapter>> byKey = new LinkedHashMap<>();
        for (PlacedAdapter a : adapters) {
            if (a.at().transposed()) {
                throw new IllegalArgumentException("adapters must be on [out, in] weights, found " + a.at());
            }
            byKey.computeIfAbsent(a.at().key(), k -> new ArrayList<>()).add(a);
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        byKey.forEach((key, list) -> {
            StoredLinear s = list.get(0).at();
            int out = Math.toIntExact(s.outFeatures());
            int in = Math.toIntExact(s.inFeatures());
            int rank = list.stream().mapToInt(PlacedAdapter::rank).sum();
            Tensor a = Tensor.zeros(rank, in);
            Tensor b = Tensor.zeros(out, rank);
            int col = 0;
            for (PlacedAdapter p : list) {
                int r = p.rank();
                a.slice(col, col + r).copyFrom(p.a());
                int first = Math.toIntExact(p.at().firstRow());
                for (int o = 0; o < p.at().rows(); o++) {
                    for (int k = 0; k < r; k++) {
                        b.set((first + o) * rank + col + k, (float) (p.scale() * p.b().get(o * r + k)));
                    }
                }
                col += r;
            }
            tensors.put(LoraGraphInputs.aName(key), a);
            tensors.put(LoraGraphInputs.bName(key), b);
            shapes.put(key, new long[] {out, in});
        });
        return new LoraInputs(tensors, shapes, new TreeSet<>(byKey.keySet()));
    }

    /** The adapted weights' keys (sorted): graphs are built, and cached, per key set. */
    public Set<String> keys() {
        return keys;
    }

    /** Input name -> tensor ({@code <key>.lora_A.weight} [R, in], {@code <key>.lora_B.weight} [out, R]). */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** Whether there is nothing to add. */
    public boolean isEmpty() {
        return keys.isEmpty();
    }

    /**
     * The graph hook for these keys (float32, symbolic rank per key): a graph built with it takes any stack of
     * adapters on the same weights.
     */
    public static LoraGraphInputs graphInputs(Set<String> keys, Map<String, long[]> shapes) {
        return new LoraGraphInputs(keys::contains, k -> Dim.symbol("lora_rank." + k), 1.0, ElementType.FLOAT,
                shapes::get);
    }

    /** The stored [out, in] shape of each adapted weight. */
    public Map<String, long[]> shapes() {
        return Collections.unmodifiableMap(shapes);
    }
}
