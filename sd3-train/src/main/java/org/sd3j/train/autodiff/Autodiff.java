package org.sd3j.train.autodiff;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.Node;
import org.sd3j.onnx.graph.Value;

/**
 * Reverse-mode differentiation of a graph recorded by a {@link GraphBuilder}: the gradient nodes are appended to
 * the same builder, so one ONNX graph computes the forward pass, the loss and the gradients, and ONNX Runtime runs
 * all of it (on the CPU with its MLAS kernels, on CUDA unchanged).
 *
 * <p>Only nodes on a path from a differentiated value to the loss get a vector-Jacobian product: frozen weights
 * and everything that does not depend on the trainable values cost nothing. One rule per {@link
 * org.sd3j.onnx.graph.Op} lives in {@link VjpRules}; ops without one fail with the op named.
 *
 * <pre>{@code
 * GraphBuilder g = new GraphBuilder("step");
 * Value x = g.input("x", ElementType.FLOAT, Dim.of(4));
 * Value loss = g.reduceSum(g.mul(x, x), false, 0);
 * Map<Value, Value> grads = Autodiff.gradients(g, loss, List.of(x));   // 2x
 * g.output(loss, "loss");
 * g.output(grads.get(x), "grad.x");
 * }</pre>
 */
public final class Autodiff {
    private Autodiff() {
    }

    /**
     * Appends to {@code g} the gradients of {@code loss} with respect to each of {@code wrt}.
     *
     * @param loss a scalar (or any shape: the seed gradient is ones, i.e. the gradient of its sum)
     * @param wrt  graph inputs, weights or intermediate values
     * @return value -> gradient of the same shape, in {@code wrt}'s order; zeros for a value the loss does not
     *         depend on
     * @throws UnsupportedOperationException for an op on the path that has no gradient rule
     */
    public static Map<Value, Value> gradients(GraphBuilder g, Value loss, List<Value> wrt) {
        List<Node> nodes = List.copyOf(g.nodes());
        Set<String> wrtNames = new HashSet<>();
        for (Value v : wrt) {
            wrtNames.add(v.name());
        }
        // Forward: every value that depends on a differentiated one.
        Set<String> dependent = new HashSet<>(wrtNames);
        for (Node n : nodes) {
            if (n.inputs().stream().anyMatch(dependent::contains)) {
                dependent.addAll(n.outputs());
            }
        }
        // Backward: the nodes the loss depends on.
        Set<String> needed = new HashSet<>(Set.of(loss.name()));
        List<Node> path = new ArrayList<>();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            if (n.outputs().stream().anyMatch(needed::contains)
                    && n.inputs().stream().anyMatch(dependent::contains)) {
                path.add(n); // reverse topological order
                needed.addAll(n.inputs());
            }
        }

        Map<String, Value> grads = new HashMap<>();
        VjpRules rules = new VjpRules(g, grads::get);
        grads.put(loss.name(), rules.onesLike(loss));
        for (Node n : path) {
            List<Value> outGrads = new ArrayList<>();
            boolean any = false;
            for (String o : n.outputs()) {
                Value gr = grads.get(o);
                outGrads.add(gr);
                any |= gr != null;
            }
            if (!any) {
                continue;
            }
            List<Value> inGrads = rules.vjp(n, outGrads, dependent);
            for (int i = 0; i < n.inputs().size(); i++) {
                String in = n.inputs().get(i);
                Value gr = i < inGrads.size() ? inGrads.get(i) : null;
                if (gr == null || in.isEmpty() || !dependent.contains(in)) {
                    continue;
                }
                Value prev = grads.get(in);
                grads.put(in, prev == null ? gr : g.add(prev, gr));
            }
        }
        Map<Value, Value> out = new LinkedHashMap<>();
        for (Value v : wrt) {
            Value gr = grads.get(v.name());
            out.put(v, gr != null ? gr : rules.zerosLike(v));
        }
        return out;
    }
}
