package org.sd3j.onnx.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;

import org.sd3j.ModelLoadException;

/**
 * The declarations of a {@code model.onnx}: producer, graph inputs and outputs (types and shapes, symbolic
 * dimensions by name) and each initializer's name, element type and shape. The file is streamed and every
 * tensor's data (embedded or external) and every node is skipped, so a multi-gigabyte export is read in
 * milliseconds without ONNX Runtime. Immutable.
 */
final class OnnxFileHeader {
    // Field numbers of onnx.proto (ModelProto, GraphProto, TensorProto).
    private static final int MODEL_PRODUCER_NAME = 2;
    private static final int MODEL_PRODUCER_VERSION = 3;
    private static final int MODEL_GRAPH = 7;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_INPUT = 11;
    private static final int GRAPH_OUTPUT = 12;
    private static final int TENSOR_DIMS = 1;
    private static final int TENSOR_DATA_TYPE = 2;
    private static final int TENSOR_NAME = 8;

    /** An initializer's declaration. */
    record Initializer(String name, String elementType, long[] dims) {
        long elements() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }
    }

    private final String producer;
    private final List<ModelDescription.GraphValue> inputs;
    private final List<ModelDescription.GraphValue> outputs;
    private final List<Initializer> initializers;

    private OnnxFileHeader(String producer, List<ModelDescription.GraphValue> inputs,
                           List<ModelDescription.GraphValue> outputs, List<Initializer> initializers) {
        this.producer = producer;
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        this.initializers = List.copyOf(initializers);
    }

    /** Reads the declarations of {@code file}; a file that is not an ONNX model is a {@link ModelLoadException}. */
    static OnnxFileHeader read(Path file) {
        try (InputStream stream = Files.newInputStream(file)) {
            CodedInputStream in = CodedInputStream.newInstance(stream, 1 << 16);
            in.setSizeLimit(Integer.MAX_VALUE);
            String name = "";
            String version = "";
            Graph graph = new Graph();
            for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                int field = WireFormat.getTagFieldNumber(tag);
                if (field == MODEL_PRODUCER_NAME && isDelimited(tag)) {
                    name = in.readStringRequireUtf8();
                } else if (field == MODEL_PRODUCER_VERSION && isDelimited(tag)) {
                    version = in.readStringRequireUtf8();
                } else if (field == MODEL_GRAPH && isDelimited(tag)) {
                    int limit = in.pushLimit(in.readRawVarint32());
                    graph.read(in);
                    in.popLimit(limit);
                } else {
                    in.skipField(tag);
                }
            }
            if (graph.outputs.isEmpty()) {
                throw new ModelLoadException(file, "not an ONNX model: no graph outputs are declared");
            }
            // Models from IR version < 4 also list their initializers as graph inputs: those are weights, not inputs.
            Set<String> weights = new HashSet<>();
            graph.initializers.forEach(i -> weights.add(i.name()));
            List<ModelDescription.GraphValue> inputs = new ArrayList<>();
            for (ModelDescription.GraphValue v : graph.inputs) {
                if (!weights.contains(v.name())) {
                    inputs.add(v);
                }
            }
            String producer = (name + " " + version).trim();
            return new OnnxFileHeader(producer, inputs, graph.outputs, graph.initializers);
        } catch (IOException | RuntimeException e) {
            if (e instanceof ModelLoadException) {
                throw (ModelLoadException) e;
            }
            throw new ModelLoadException(file, "cannot read the ONNX model: " + e.getMessage(), e);
        }
    }

    /** Who wrote the file ({@code producer_name producer_version}), empty when it does not say. */
    String producer() {
        return producer;
    }

    List<ModelDescription.GraphValue> inputs() {
        return inputs;
    }

    List<ModelDescription.GraphValue> outputs() {
        return outputs;
    }

    List<Initializer> initializers() {
        return initializers;
    }

    private static boolean isDelimited(int tag) {
        return WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
    }

    /** The parts of a GraphProto that are read. */
    private static final class Graph {
        final List<ModelDescription.GraphValue> inputs = new ArrayList<>();
        final List<ModelDescription.GraphValue> outputs = new ArrayList<>();
        final List<Initializer> initializers = new ArrayList<>();

        void read(CodedInputStream in) throws IOException {
            for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                int field = WireFormat.getTagFieldNumber(tag);
                if (field == GRAPH_INPUT && isDelimited(tag)) {
                    inputs.add(value(ValueInfoProto.parseFrom(in.readBytes())));
                } else if (field == GRAPH_OUTPUT && isDelimited(tag)) {
                    outputs.add(value(ValueInfoProto.parseFrom(in.readBytes())));
                } else if (field == GRAPH_INITIALIZER && isDelimited(tag)) {
                    int limit = in.pushLimit(in.readRawVarint32());
                    initializers.add(initializer(in));
                    in.popLimit(limit);
                } else {
                    in.skipField(tag); // nodes, value_info, docs: never needed, possibly large
                }
            }
        }
    }

    /** Reads a TensorProto's name, type and dims, skipping its data. */
    private static Initializer initializer(CodedInputStream in) throws IOException {
        String name = "";
        int type = 0;
        List<Long> dims = new ArrayList<>();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            int field = WireFormat.getTagFieldNumber(tag);
            if (field == TENSOR_DIMS && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_VARINT) {
                dims.add(in.readInt64());
            } else if (field == TENSOR_DIMS && isDelimited(tag)) {
                int limit = in.pushLimit(in.readRawVarint32()); // packed
                while (in.getBytesUntilLimit() > 0) {
                    dims.add(in.readInt64());
                }
                in.popLimit(limit);
            } else if (field == TENSOR_DATA_TYPE && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_VARINT) {
                type = in.readInt32();
            } else if (field == TENSOR_NAME && isDelimited(tag)) {
                name = in.readStringRequireUtf8();
            } else {
                in.skipField(tag); // raw_data, float_data, external_data, ...
            }
        }
        return new Initializer(name, elementType(type), dims.stream().mapToLong(Long::longValue).toArray());
    }

    private static ModelDescription.GraphValue value(ValueInfoProto v) {
        TypeProto type = v.getType();
        if (!type.hasTensorType()) {
            return new ModelDescription.GraphValue(v.getName(), type.getValueCase().name().toLowerCase(Locale.ROOT),
                    List.of());
        }
        List<String> shape = new ArrayList<>();
        for (TensorShapeProto.Dimension d : type.getTensorType().getShape().getDimList()) {
            shape.add(d.hasDimValue() ? Long.toString(d.getDimValue())
                    : d.hasDimParam() && !d.getDimParam().isEmpty() ? d.getDimParam() : "?");
        }
        return new ModelDescription.GraphValue(v.getName(), elementType(type.getTensorType().getElemType()), shape);
    }

    /** ONNX element type codes as numpy-style names: {@code float32}, {@code float16}, {@code int64}, ... */
    static String elementType(int code) {
        TensorProto.DataType t = TensorProto.DataType.forNumber(code);
        if (t == null) {
            return "type " + code;
        }
        switch (t) {
            case FLOAT:
                return "float32";
            case DOUBLE:
                return "float64";
            case UNDEFINED:
                return "undefined";
            default:
                return t.name().toLowerCase(Locale.ROOT);
        }
    }
}
