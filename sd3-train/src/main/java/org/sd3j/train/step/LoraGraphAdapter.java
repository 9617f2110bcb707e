package org.sd3j.train.step;

import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;

import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.Value;
import org.sd3j.onnx.lora.LoraGraphInputs;
import org.sd3j.onnx.mmdit.MmditGraph;

/**
 * LoRA adapters as graph inputs for training: every Linear whose checkpoint key {@code targets} accepts becomes
 * {@code W x + (alpha / r) * B (A x)}, with {@code A [r, in]} fed as {@code <key>.lora_A.weight} and
 * {@code B [out, r]} as {@code <key>.lora_B.weight} (key = the adapted weight's name in the loaded checkpoint,
 * without {@code .weight}). A fused qkv weight gets one adapter: {@code A} shared by q, k and v (they read the same
 * input) and {@code B}'s row blocks used by each, i.e. exactly a rank-r LoRA on the fused matrix. (The graph is
 * sd3-onnx's {@link LoraGraphInputs} with a fixed rank, which switchable inference uses with a symbolic one.)
 *
 * <p>One instance per graph; not thread-safe.
 */
public final class LoraGraphAdapter implements MmditGraph.LinearAdapter {
    /** Suffix of the A input's name. */
    public static final String A = LoraGraphInputs.A;
    /** Suffix of the B input's name. */
    public static final String B = LoraGraphInputs.B;

    private final LoraGraphInputs inputs;

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
        this.inputs = new LoraGraphInputs(targets, k -> Dim.of(rank), alpha / rank, type, shapeOf);
    }

    @Override
    public Value adapt(GraphBuilder g, String key, long firstRow, Value x, Value y, Value leadingDims) {
        return inputs.adapt(g, key, firstRow, x, y, leadingDims);
    }

    /** The adapter inputs created so far, A then B per adapted key, in graph order. */
    public List<Value> trainableInputs() {
        return inputs.inputs();
    }

    /** The adapted keys, in graph order. */
    public List<String> keys() {
        return inputs.keys();
    }
}
