package org.sd3j.train.step;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.Value;

/**
 * The outputs every training step graph ends with: the gradient of each trainable input, named
 * {@value #PREFIX}{@code <input name>} and shaped as the input, then {@value #SQUARES} {@code [n]}, the sum of the
 * squared elements of each of the {@code n} gradients in the same order. The squares are summed where each gradient
 * is made, while it is still in the cache, so the trainer's global-norm clipping needs no second pass over every
 * gradient in memory (9.7M parameters: about 1.5 ms in the graph instead of 5 ms in Java).
 */
public final class GradientOutputs {
    /** Prefix of the gradient outputs' names. */
    public static final String PREFIX = "grad.";
    /** The per-gradient sums of squares, float {@code [n]}. */
    public static final String SQUARES = "grad_squares";

    private GradientOutputs() {
    }

    /**
     * Outputs {@code gradients.get(p)} for every {@code p} of {@code trainable}, then {@value #SQUARES}.
     *
     * @return the trainable inputs' names, in output order
     */
    static List<String> emit(GraphBuilder g, Map<Value, Value> gradients, List<Value> trainable) {
        List<String> names = new ArrayList<>();
        Value[] squares = new Value[trainable.size()];
        for (int i = 0; i < squares.length; i++) {
            Value p = trainable.get(i);
            // Summed from the output itself: read from the gradient's producer, the renaming Identity would have to
            // stay and copy every gradient.
            Value grad = g.output(gradients.get(p), PREFIX + p.name());
            names.add(p.name());
            squares[i] = g.sumOfSquares(grad);
        }
        g.output(squares.length == 1 ? squares[0] : g.concat(0, squares), SQUARES);
        return List.copyOf(names);
    }
}
