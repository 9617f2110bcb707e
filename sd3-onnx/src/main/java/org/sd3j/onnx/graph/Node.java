package org.sd3j.onnx.graph;

import java.util.List;
import java.util.Map;

/**
 * One recorded op application: what the graph builder emitted, in order. Kept in Java form so that later passes
 * (ONNX serialization, reverse-mode autodiff) walk the same record.
 *
 * @param op         the operator
 * @param name       unique node name (scoped, e.g. {@code joint_blocks.3.x_block/Gemm_12})
 * @param inputs     input value names ("" for an omitted optional input)
 * @param outputs    output value names
 * @param attributes attribute values: Long, Double, String, long[] or double[]
 */
public record Node(Op op, String name, List<String> inputs, List<String> outputs, Map<String, Object> attributes) {
    public Node {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        attributes = Map.copyOf(attributes);
    }
}
