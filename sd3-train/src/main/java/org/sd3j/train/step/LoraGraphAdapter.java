package org.sd3j.train.step;

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
 * LoRA adapters as graph inputs: every Linear whose checkpoint key {@code targets} accepts becomes
 * {@code W x + (alpha / r) * B (A x)}, with {@code A [r, in]} fed as {@code <key>.lora_A.weight} and
 * {@code B [out, r]} as {@code <key>.lora_B.weight} (key = the adapted weight's name in the loaded checkpoint,
 * without {@code .weight}). A fused qkv weight gets one adapter: {@code A} shared by q, k and v (they read the same
 * input) and {@code B}'s row blocks used by each, i.e. exactly a rank-r LoRA on the fused matrix.
 *
 * <p>One instance per graph; not thread-safe.
 */
public final class LoraGraphAdapter implements MmditGraph.LinearAdapter {
    /** Suffix of the A input's name. */
    public static final String A = ".lora_A.weight";
    /** Suffix of the B input's name. */
    public static final String B = ".lora_B.weight";

    private final Predicate<String> targets;
    private final int rank;
    private final double scale;
    private final ElementType type;
    private final Function<String, long[]> shapeOf;
    private final Map<String, Value[]> inputs = new LinkedHashMap<>();
    /** A x per key and input (q, k and v of a fused qkv share both). */
    private final Map<String, Value> down = new HashMap<>();

    /**
     * @param targets which checkpoint keys get an adapter
     * @param rank    r
     * @param alpha   alpha: the update is scaled by {@code alpha / r}
     * @param type    the graph's compute type (the adapters' element type)
     * @param shapeOf key -> the adapted weight's stored shape ({@code [out, in]}, {@code [3D, D]} for a fused qkv;
     *                a convolution kernel's trailing dims multiply to its input width)
     */
    public LoraGraphAdapter(Predicate<String> targets, int rank, double alpha, ElementType type,
                            Function<String, long[]> shapeOf) {
        if (rank < 1) {
            throw new IllegalArgumentException("rank must be >= 1, found " + rank);
        }
        this.targets = targets;
        this.rank = rank;
        this.scale = alpha / rank;
        this.type = type;
        this.shapeOf = shapeOf;
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
        Value[] ab = inputs.computeIfAbsent(key, k -> new Value[] {
            g.input(k + A, type, Dim.of(rank), Dim.of(in)),
            g.input(k + B, type, Dim.of(rows), Dim.of(rank))});
        // The rows this Linear uses: all of them, or q's, k's or v's block of a fused qkv.
        long out = y.dim(-1).isKnown() ? y.dim(-1).size() : rows;
        Value u = down.get(key + "|" + x.name());
        if (u == null) {
            u = leadingDims == null ? g.linear(x, ab[0], null) : g.linear(x, ab[0], null, leadingDims);
            down.put(key + "|" + x.name(), u);
        }
        Value b = ab[1];
        if (firstRow != 0 || out != b.dim(0).size()) {
            b = g.slice(b, 0, firstRow, firstRow + out);
        }
        // alpha/r scales the small [out, r] matrix, not the [tokens, out] product: one tiny Mul per step.
        Value scaled = g.mul(b, g.scalar(type, scale));
        Value delta = leadingDims == null ? g.linear(u, scaled, null) : g.linear(u, scaled, null, leadingDims);
        return g.add(y, delta);
    }

    /** The adapter inputs created so far, A then B per adapted key, in graph order. */
    public List<Value> trainableInputs() {
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
