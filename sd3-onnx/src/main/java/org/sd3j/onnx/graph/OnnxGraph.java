package org.sd3j.onnx.graph;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;

import org.sd3j.Sd3Exception;
import org.sd3j.internal.AtomicFiles;

/**
 * A finished graph: the recorded nodes, inputs, outputs, the weights (EXTERNAL initializers) and embedded
 * constants. Immutable. Serializes to an ONNX {@link ModelProto} whose weights point at an external data file;
 * {@link #save(Path)} writes {@code model.onnx} plus that file, and {@link GraphSession} binds the weights
 * zero-copy instead.
 */
public final class OnnxGraph {
    /** The external data location recorded for weights that are bound at session creation. */
    static final String BOUND_AT_SESSION = "model.onnx_data";
    private static final int ALIGNMENT = 4096;

    private final String name;
    private final List<Node> nodes;
    private final List<Value> inputs;
    private final List<Value> outputs;
    private final Map<String, WeightData> weights;
    private final Map<String, GraphBuilder.Constant> constants;

    OnnxGraph(String name, List<Node> nodes, List<Value> inputs, List<Value> outputs, Map<String, WeightData> weights,
              Map<String, GraphBuilder.Constant> constants) {
        this.name = name;
        this.nodes = nodes;
        this.inputs = inputs;
        this.outputs = outputs;
        this.weights = Map.copyOf(weights);
        this.constants = constants;
        this.weightOrder = List.copyOf(weights.keySet());
    }

    private final List<String> weightOrder;

    public String name() {
        return name;
    }

    public List<Node> nodes() {
        return nodes;
    }

    public List<Value> inputs() {
        return inputs;
    }

    public List<Value> outputs() {
        return outputs;
    }

    /** Weights by initializer name, in the order they were added. */
    public Map<String, WeightData> weights() {
        return weights;
    }

    List<String> weightOrder() {
        return weightOrder;
    }

    /** Total weight bytes. */
    public long weightBytes() {
        long n = 0;
        for (WeightData w : weights.values()) {
            n += w.data().remaining();
        }
        return n;
    }

    /**
     * The ONNX model; each weight is an EXTERNAL initializer at its offset in {@code dataFile} (4096-aligned, so
     * ONNX Runtime can map it).
     */
    public ModelProto toModel(String dataFile) {
        return toModel(dataFile, false);
    }

    /**
     * The ONNX model with the weights either as EXTERNAL initializers in {@code dataFile} or, when
     * {@code weightsAsInputs}, as extra graph inputs fed with every run (ONNX Runtime then never folds, repacks or
     * reads them from a file: see {@link GraphSession.WeightBinding#INPUTS}).
     */
    ModelProto toModel(String dataFile, boolean weightsAsInputs) {
        GraphProto.Builder g = GraphProto.newBuilder().setName(name);
        for (Value v : inputs) {
            g.addInput(valueInfo(v));
        }
        if (weightsAsInputs) {
            for (String w : weightOrder) {
                WeightData d = weights.get(w);
                List<Dim> dims = new java.util.ArrayList<>();
                for (long s : d.shape()) {
                    dims.add(Dim.of(s));
                }
                g.addInput(valueInfo(new Value(null, w, d.type(), dims)));
            }
        }
        for (Value v : outputs) {
            g.addOutput(valueInfo(v));
        }
        long offset = 0;
        for (String w : weightsAsInputs ? List.<String>of() : weightOrder) {
            WeightData d = weights.get(w);
            long length = d.data().remaining();
            TensorProto.Builder t = TensorProto.newBuilder().setName(w).setDataType(d.type().onnx().getNumber())
                    .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", dataFile))
                    .addExternalData(entry("offset", Long.toString(offset)))
                    .addExternalData(entry("length", Long.toString(length)));
            for (long s : d.shape()) {
                t.addDims(s);
            }
            g.addInitializer(t);
            offset = align(offset + length);
        }
        for (Map.Entry<String, GraphBuilder.Constant> c : constants.entrySet()) {
            TensorProto.Builder t = TensorProto.newBuilder().setName(c.getKey())
                    .setDataType(c.getValue().type().onnx().getNumber())
                    .setRawData(ByteString.copyFrom(c.getValue().data().duplicate()));
            for (long s : c.getValue().shape()) {
                t.addDims(s);
            }
            g.addInitializer(t);
        }
        boolean usesMs = false;
        for (Node n : nodes) {
            NodeProto.Builder nb = NodeProto.newBuilder().setOpType(n.op().onnxName()).setName(n.name())
                    .addAllInput(n.inputs()).addAllOutput(n.outputs());
            if (!n.op().domain().isEmpty()) {
                nb.setDomain(n.op().domain());
                usesMs = true;
            }
            // Sorted: Node keeps attributes in an immutable map whose iteration order changes from one JVM run to
            // the next, and a converted model must be the same bytes every time (the bundled default model is).
            for (Map.Entry<String, Object> a : new TreeMap<>(n.attributes()).entrySet()) {
                nb.addAttribute(attribute(a.getKey(), a.getValue()));
            }
            g.addNode(nb);
        }
        ModelProto.Builder m = ModelProto.newBuilder()
                .setIrVersion(GraphBuilder.IR_VERSION)
                .setProducerName("sd3j")
                .setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(GraphBuilder.OPSET));
        if (usesMs) {
            m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(GraphBuilder.MS_DOMAIN).setVersion(1));
        }
        return m.build();
    }

    /**
     * Writes {@code modelFile} and, beside it, {@code <modelFile name>_data} with every weight (temp files first,
     * then moved, so a failure leaves nothing half-written).
     */
    public void save(Path modelFile) {
        String dataName = modelFile.getFileName() + "_data";
        Path data = modelFile.toAbsolutePath().resolveSibling(dataName);
        try {
            AtomicFiles.write(data, tmp -> {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    long offset = 0;
                    for (String w : weightOrder) {
                        ByteBuffer b = weights.get(w).data().duplicate();
                        ch.position(offset);
                        while (b.hasRemaining()) {
                            ch.write(b);
                        }
                        offset = align(offset + weights.get(w).data().remaining());
                    }
                }
            });
            AtomicFiles.write(modelFile, tmp -> {
                try (OutputStream out = Files.newOutputStream(tmp)) {
                    toModel(dataName).writeTo(out);
                }
            });
        } catch (IOException e) {
            throw new Sd3Exception("Cannot write " + modelFile + ": " + e.getMessage(), e);
        }
    }

    private static long align(long offset) {
        return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static StringStringEntryProto entry(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    private static ValueInfoProto valueInfo(Value v) {
        TypeProto.Tensor.Builder tensor = TypeProto.Tensor.newBuilder().setElemType(v.type().onnx().getNumber());
        if (v.shape() != null) {
            // Without a shape the rank is left unknown, which ONNX allows for graph outputs.
            TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
            for (Dim d : v.shape()) {
                TensorShapeProto.Dimension.Builder db = TensorShapeProto.Dimension.newBuilder();
                if (d.isKnown()) {
                    db.setDimValue(d.size());
                } else if (d.isSymbolic()) {
                    db.setDimParam(d.symbolName());
                }
                shape.addDim(db);
            }
            tensor.setShape(shape);
        }
        TypeProto type = TypeProto.newBuilder().setTensorType(tensor).build();
        return ValueInfoProto.newBuilder().setName(v.name()).setType(type).build();
    }

    private static AttributeProto attribute(String name, Object value) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name);
        if (value instanceof Long) {
            a.setType(AttributeProto.AttributeType.INT).setI((Long) value);
        } else if (value instanceof Double) {
            a.setType(AttributeProto.AttributeType.FLOAT).setF(((Double) value).floatValue());
        } else if (value instanceof String) {
            a.setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8((String) value));
        } else if (value instanceof long[]) {
            a.setType(AttributeProto.AttributeType.INTS);
            for (long l : (long[]) value) {
                a.addInts(l);
            }
        } else if (value instanceof double[]) {
            a.setType(AttributeProto.AttributeType.FLOATS);
            for (double d : (double[]) value) {
                a.addFloats((float) d);
            }
        } else {
            throw new IllegalArgumentException("attribute " + name + " must be Long, Double, String, long[] or"
                    + " double[], found " + value.getClass().getName());
        }
        return a.build();
    }

    @Override
    public String toString() {
        return "OnnxGraph[" + name + ", " + nodes.size() + " nodes, " + weights.size() + " weights]";
    }
}
