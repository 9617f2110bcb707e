package org.sd3j.onnx.lora;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.Value;
import org.sd3j.onnx.mmdit.MmditGraph;

/**
 * LoRA adapters as graph inputs: every Linear whose key {@code targets} accepts becomes
 * {@code W x + scale * B (A x)}, with {@code A [r, in]} fed as {@code <key>.lora_A.weight} and {@code B [out, r]} as
 * {@code <key>.lora_B.weight} (key = the adapted weight's checkpoint name without {@code .weight}). A fused qkv weight
 * gets one adapter: {@code A} shared by q, k and v (they read the same input) and {@code B}'s row blocks used by each,
 * i.e. exactly a LoRA on the fused matrix. Training fixes r and puts {@code alpha / r} in the graph; switchable
 * inference leaves r symbolic (any number of LoRAs stacked along it) and feeds B already scaled.
 *
 * <p>One instance per graph; not thread-safe.
 */
public final class LoraGraphInputs implements MmditGraph.LinearAdapter {
    /** Suffix of the A input's name. */
    public static final String A = ".lora_A.weight";
    /** Suffix of the B input's name. */
    public static final String B = ".lora_B.weight";

    private final Predicate<String> targets;
    private final Function<String, Dim> rank;
    private final double scale;
    private final ElementType type;
    private final Function<String, long[]> shapeOf;
    private final Map<String, Value[]> inputs = new LinkedHashMap<>();
    /** A x per key and input (q, k and v of a fused qkv share both). */
    private final Map<String, Value> down = new HashMap<>();

    /**
     * @param targets which keys get an adapter
     * @param rank    key -> the rank dimension of its inputs (fixed, or symbolic for stacked LoRAs)
     * @param scale   the factor on {@code B (A x)}; 1 adds no multiplication
     * @param type    the graph's compute type (the adapters' element type)
     * @param shapeOf key -> the adapted weight's stored shape ({@code [out, in]}, {@code [3D, D]} for a fused qkv;
     *                a convolution kernel's trailing dims multiply to its input width)
     */
    public LoraGraphInputs(Predicate<String> targets, Function<String, Dim> rank, double scale, ElementType type,
                           Function<String, long[]> shapeOf) {
        this.targets = targets;
        this.rank = rank;
        this.scale = scale;
        this.type = type;
        this.shapeOf = shapeOf;
    }

    /** The A input of {@code key}. */
    public static String aName(String key) {
        return key + A;
    }

    /** The B input of {@code key}. */
    public static String bName(String key) {
        return key + B;
    }

    @Override
    public Value adapt(GraphBuilder g, String key, long firstRow, Value x, Value y, Value leadingDims) {
        if (!targets.test(key)) {
            return y;
        }
        long[] shape = shapeOf.apply(key);
        long inWidth = 1;
        for (int i = 1; i < shape.length; i++) {
            inWidth *= shape[i];
        }
        long in = inWidth;
        long rows = shape[0];
        Value[] ab = inputs.computeIfAbsent(key, k -> {
            Dim r = rank.apply(k);
            return new Value[] {g.input(aName(k), type, r, Dim.of(in)), g.input(bName(k), type, Dim.of(rows), r)};
        });
        // The rows this Linear uses: all of them, or q's, k's or v's block of a fused qkv.
        long out = y.dim(-1).isKnown() ? y.dim(-1).size() : rows;
        Value b = ab[1];
        if (firstRow != 0 || out != rows) {
            b = g.slice(b, 0, firstRow, firstRow + out);
        }
        if (scale != 1) {
            // The scale multiplies the small [out, r] matrix, not the [tokens, out] product: one tiny Mul per run.
            b = g.mul(b, g.scalar(type, scale));
        }
        boolean fixedRank = ab[0].dim(0).isKnown();
        Value u = down.get(key + "|" + x.name());
        if (u == null) {
            // A symbolic rank cannot size a Reshape: project the flattened tokens, restore the shape at the end.
            Value flat = leadingDims == null || !fixedRank ? (leadingDims == null ? x : g.reshape(x, -1, in)) : x;
            u = fixedRank ? (leadingDims == null ? g.linear(x, ab[0], null) : g.linear(x, ab[0], null, leadingDims))
                    : g.gemm(flat, ab[0], null, true);
            down.put(key + "|" + x.name(), u);
        }
        Value delta;
        if (fixedRank) {
            delta = leadingDims == null ? g.linear(u, b, null) : g.linear(u, b, null, leadingDims);
        } else {
            delta = g.gemm(u, b, null, true);
            if (leadingDims != null) {
                delta = g.reshapeTo(delta, g.concat(0, leadingDims, g.int64s(out)), y.shape());
            }
        }
        return g.add(y, delta);
    }

    /** The adapter inputs created so far, A then B per adapted key, in graph order. */
    public List<Value> inputs() {
        List<Value> out = new ArrayList<>();
        for (Value[] ab : inputs.values()) {
            out.add(ab[0]);
            out.add(ab[1]);
        }
        return Collections.unmodifiableList(out);
    }

    /** The adapted keys, in graph order. */
    public List<String> keys() {
        return List.copyOf(inputs.keySet());
    }
}
