package org.sd3j.onnx.graph;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small DSL that records ONNX nodes: one method per {@link Op}, named values with shapes tracked where they
 * are known (symbolic batch / sequence / spatial dimensions stay symbolic), weights as EXTERNAL initializers
 * and small constants embedded. {@link #build()} freezes it into an {@link OnnxGraph}.
 *
 * <p>Shapes: each method computes its output shape from its inputs' as far as they are known; dimensions that
 * depend on run-time values become unknown. Not thread-safe: one builder per graph.
 */
public final class GraphBuilder {
    /** ONNX Runtime's contrib-op domain. */
    public static final String MS_DOMAIN = "com.microsoft";
    /** Opset of the standard domain: 20 gives a native {@code Gelu} (with {@code approximate="tanh"}). */
    public static final int OPSET = 20;
    /** IR version matching opset 20 (ONNX Runtime 1.23 accepts up to 11). */
    public static final int IR_VERSION = 9;

    private final String graphName;
    private final List<Node> nodes = new ArrayList<>();
    private final List<Value> inputs = new ArrayList<>();
    private final Map<String, Value> outputs = new LinkedHashMap<>();
    private final Map<String, WeightData> weights = new LinkedHashMap<>();
    private final Map<String, Constant> constants = new LinkedHashMap<>();
    private final Map<String, Value> values = new LinkedHashMap<>();
    private final Set<String> names = new HashSet<>();
    private final Deque<String> scopes = new ArrayDeque<>();
    private int counter;

    /** A small tensor embedded in the model. */
    record Constant(ElementType type, long[] shape, ByteBuffer data) {
    }

    public GraphBuilder(String graphName) {
        this.graphName = graphName;
    }

    // ---------------------------------------------------------------- naming

    /** Prefixes node and value names until the returned scope is closed: {@code try (var s = g.scope("x")) {}}. */
    public Scope scope(String name) {
        scopes.push(scopes.isEmpty() ? name : scopes.peek() + "." + name);
        return scopes::pop;
    }

    /** A scope that closes without checked exceptions. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    private String fresh(String base) {
        String prefix = scopes.isEmpty() ? "" : scopes.peek() + "/";
        String n;
        do {
            n = prefix + base + "_" + counter++;
        } while (names.contains(n));
        names.add(n);
        return n;
    }

    private Value register(String name, ElementType type, List<Dim> shape) {
        if (!names.add(name) && values.containsKey(name)) {
            throw new IllegalArgumentException("name must be unique in the graph, found '" + name + "' twice");
        }
        Value v = new Value(this, name, type, shape);
        values.put(name, v);
        return v;
    }

    private Value own(Value v) {
        if (v == null || v.owner() != this) {
            throw new IllegalArgumentException("value must come from this graph builder, found " + v);
        }
        return v;
    }

    // ---------------------------------------------------------------- graph inputs, outputs, weights, constants

    /** A graph input. */
    public Value input(String name, ElementType type, Dim... shape) {
        Value v = register(name, type, Arrays.asList(shape));
        inputs.add(v);
        return v;
    }

    /** Marks {@code value} as a graph output called {@code name} (through an Identity when renamed). */
    public Value output(Value value, String name) {
        own(value);
        Value out = value;
        if (!value.name().equals(name)) {
            out = register(name, value.type(), value.shape());
            nodes.add(new Node(Op.IDENTITY, fresh("Identity"), List.of(value.name()), List.of(name), Map.of()));
        }
        outputs.put(name, out);
        return out;
    }

    /** A weight: an EXTERNAL initializer whose bytes are bound when a session is created or the model saved. */
    public Value weight(String name, WeightData data) {
        Value v = register(name, elementTypeOf(data), dims(data.shape()));
        weights.put(name, data);
        return v;
    }

    private static ElementType elementTypeOf(WeightData d) {
        return d.type();
    }

    /** A float32 constant embedded in the model. */
    public Value constant(float[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : values) {
            b.putFloat(f);
        }
        return addConstant(ElementType.FLOAT, shape, b.flip());
    }

    /** A scalar constant of a floating {@code type}, exact in float64 graphs (gradient checks need that). */
    public Value scalar(ElementType type, double value) {
        if (type == ElementType.DOUBLE) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(value);
            return addConstant(ElementType.DOUBLE, new long[0], b.flip());
        }
        return constant(type, new float[] {(float) value});
    }

    /** A float32 scalar constant (shape []). */
    public Value scalar(float value) {
        return constant(new float[] {value});
    }

    /** An int64 constant embedded in the model (1-D unless a shape is given). */
    public Value int64s(long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long l : values) {
            b.putLong(l);
        }
        return addConstant(ElementType.INT64, new long[] {values.length}, b.flip());
    }

    /** An int64 scalar constant (shape []). */
    public Value int64Scalar(long value) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value);
        return addConstant(ElementType.INT64, new long[0], b.flip());
    }

    /** A constant of {@code type} with every element cast from float32 values (e.g. FLOAT16 graphs). */
    public Value constant(ElementType type, float[] values, long... shape) {
        if (type == ElementType.FLOAT) {
            return constant(values, shape);
        }
        return cast(constant(values, shape), type);
    }

    private Value addConstant(ElementType type, long[] shape, ByteBuffer data) {
        String name = fresh("const");
        Value v = new Value(this, name, type, dims(shape));
        values.put(name, v);
        constants.put(name, new Constant(type, shape.clone(), data));
        return v;
    }

    private static List<Dim> dims(long[] shape) {
        List<Dim> d = new ArrayList<>();
        for (long s : shape) {
            d.add(Dim.of(s));
        }
        return d;
    }

    // ---------------------------------------------------------------- ops

    private Value node(Op op, List<Value> in, Map<String, Object> attrs, ElementType type, List<Dim> shape) {
        List<String> inNames = new ArrayList<>();
        for (Value v : in) {
            inNames.add(v == null ? "" : own(v).name());
        }
        String nodeName = fresh(op.onnxName());
        String outName = nodeName + ":0";
        Value out = register(outName, type, shape);
        nodes.add(new Node(op, nodeName, inNames, List.of(outName), attrs));
        return out;
    }

    private Value[] multiNode(Op op, List<Value> in, Map<String, Object> attrs, ElementType type, List<List<Dim>> shapes) {
        List<String> inNames = new ArrayList<>();
        for (Value v : in) {
            inNames.add(v == null ? "" : own(v).name());
        }
        String nodeName = fresh(op.onnxName());
        List<String> outNames = new ArrayList<>();
        Value[] outs = new Value[shapes.size()];
        for (int i = 0; i < shapes.size(); i++) {
            String n = nodeName + ":" + i;
            outNames.add(n);
            outs[i] = register(n, type, shapes.get(i));
        }
        nodes.add(new Node(op, nodeName, inNames, outNames, attrs));
        return outs;
    }

    public Value add(Value a, Value b) {
        return node(Op.ADD, List.of(a, b), Map.of(), a.type(), Shapes.broadcast(a, b));
    }

    public Value sub(Value a, Value b) {
        return node(Op.SUB, List.of(a, b), Map.of(), a.type(), Shapes.broadcast(a, b));
    }

    public Value mul(Value a, Value b) {
        return node(Op.MUL, List.of(a, b), Map.of(), a.type(), Shapes.broadcast(a, b));
    }

    public Value div(Value a, Value b) {
        return node(Op.DIV, List.of(a, b), Map.of(), a.type(), Shapes.broadcast(a, b));
    }

    public Value pow(Value a, Value exponent) {
        return node(Op.POW, List.of(a, exponent), Map.of(), a.type(), a.shape());
    }

    public Value sqrt(Value x) {
        return unary(Op.SQRT, x);
    }

    public Value reciprocal(Value x) {
        return unary(Op.RECIPROCAL, x);
    }

    public Value exp(Value x) {
        return unary(Op.EXP, x);
    }

    public Value cos(Value x) {
        return unary(Op.COS, x);
    }

    public Value sin(Value x) {
        return unary(Op.SIN, x);
    }

    public Value sigmoid(Value x) {
        return unary(Op.SIGMOID, x);
    }

    public Value tanh(Value x) {
        return unary(Op.TANH, x);
    }

    public Value abs(Value x) {
        return unary(Op.ABS, x);
    }

    public Value neg(Value x) {
        return unary(Op.NEG, x);
    }

    /** Natural logarithm. */
    public Value log(Value x) {
        return unary(Op.LOG, x);
    }

    public Value floor(Value x) {
        return unary(Op.FLOOR, x);
    }

    /** Element-wise minimum (broadcasting). */
    public Value min(Value a, Value b) {
        return node(Op.MIN, List.of(a, b), Map.of(), a.type(), Shapes.broadcast(a, b));
    }

    /** Element-wise maximum (broadcasting). */
    public Value max(Value a, Value b) {
        return node(Op.MAX, List.of(a, b), Map.of(), a.type(), Shapes.broadcast(a, b));
    }

    /** {@code a < b} as a BOOL tensor (broadcasting). */
    public Value less(Value a, Value b) {
        return node(Op.LESS, List.of(a, b), Map.of(), ElementType.BOOL, Shapes.broadcast(a, b));
    }

    /** {@code a > b} as a BOOL tensor (broadcasting). */
    public Value greater(Value a, Value b) {
        return node(Op.GREATER, List.of(a, b), Map.of(), ElementType.BOOL, Shapes.broadcast(a, b));
    }

    /** {@code a == b} as a BOOL tensor (broadcasting). */
    public Value equal(Value a, Value b) {
        return node(Op.EQUAL, List.of(a, b), Map.of(), ElementType.BOOL, Shapes.broadcast(a, b));
    }

    /** {@code condition ? x : y} element-wise (broadcasting). */
    public Value where(Value condition, Value x, Value y) {
        return node(Op.WHERE, List.of(condition, x, y), Map.of(), x.type(), Shapes.broadcast(x, y));
    }

    /** Index of the first maximum along {@code axis} (int64), as torch's argmax returns it. */
    public Value argMax(Value x, int axis, boolean keepDims) {
        List<Dim> shape = null;
        if (x.shape() != null) {
            shape = new ArrayList<>(x.shape());
            int a = axis < 0 ? axis + shape.size() : axis;
            if (keepDims) {
                shape.set(a, Dim.of(1));
            } else {
                shape.remove(a);
            }
        }
        Map<String, Object> attrs = new LinkedHashMap<>();
        attrs.put("axis", (long) axis);
        attrs.put("keepdims", keepDims ? 1L : 0L);
        attrs.put("select_last_index", 0L);
        return node(Op.ARG_MAX, List.of(x), attrs, ElementType.INT64, shape);
    }

    /**
     * Broadcasts {@code x} to the run-time shape {@code shape} (int64 vector); the output's shape is known where
     * {@code shape} is a constant of this builder.
     */
    public Value expand(Value x, Value shape) {
        return node(Op.EXPAND, List.of(x, shape), Map.of(), x.type(), expandedShape(x, shape));
    }

    /** Expand to a run-time shape tensor, with the result's shape as far as the caller knows it. */
    public Value expand(Value x, Value shape, List<Dim> knownShape) {
        return node(Op.EXPAND, List.of(x, shape), Map.of(), x.type(), knownShape);
    }

    private List<Dim> expandedShape(Value x, Value shape) {
        long[] target = int64Constant(shape).orElse(null);
        if (target == null || x.shape() == null) {
            return null;
        }
        int rank = Math.max(target.length, x.rank());
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            int xi = i - (rank - x.rank());
            int ti = i - (rank - target.length);
            Dim d = xi < 0 ? Dim.of(1) : x.dim(xi);
            long t = ti < 0 ? 1 : target[ti];
            // Expand broadcasts both ways: a target 1 keeps x's size, any other size is the result's.
            out.add(t == 1 ? d : Dim.of(t));
        }
        return out;
    }

    /** {@code x * sigmoid(x)} (SiLU / swish), as two ops ONNX Runtime fuses. */
    public Value silu(Value x) {
        return mul(x, sigmoid(x));
    }

    /**
     * GELU with the tanh approximation spelled out as {@code x * sigmoid(x (a + b x^2))}, {@code a = 2 sqrt(2/pi)},
     * {@code b = 0.044715 a} (since {@code 0.5 (1 + tanh u) = sigmoid(2u)}): six element-wise ops where
     * {@link #gelu} is one, for training graphs, whose backward pass reads the sigmoid and {@code x^2} instead of
     * recomputing them (VjpRules recognises the form).
     */
    public Value geluTanhAsSigmoid(Value x) {
        double a = 2 * Math.sqrt(2 / Math.PI);
        Value x2 = mul(x, x);
        Value inner = add(mul(x2, scalar(x.type(), 0.044715 * a)), scalar(x.type(), a));
        return mul(x, sigmoid(mul(x, inner)));
    }

    /** The value of a one-element floating constant made by this builder, if {@code v} is one. */
    public java.util.OptionalDouble floatScalar(Value v) {
        Constant c = constants.get(own(v).name());
        if (c == null || (c.type() != ElementType.FLOAT && c.type() != ElementType.DOUBLE)) {
            return java.util.OptionalDouble.empty();
        }
        ByteBuffer b = c.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (c.type() == ElementType.FLOAT) {
            return b.remaining() == 4 ? java.util.OptionalDouble.of(b.getFloat(0)) : java.util.OptionalDouble.empty();
        }
        return b.remaining() == 8 ? java.util.OptionalDouble.of(b.getDouble(0)) : java.util.OptionalDouble.empty();
    }

    /** GELU, exact (erf) or with the tanh approximation (opset 20 native op). */
    public Value gelu(Value x, boolean tanhApproximation) {
        return node(Op.GELU, List.of(x), Map.of("approximate", tanhApproximation ? "tanh" : "none"), x.type(),
                x.shape());
    }

    private Value unary(Op op, Value x) {
        return node(op, List.of(x), Map.of(), x.type(), x.shape());
    }

    /** numpy-style matmul. */
    public Value matMul(Value a, Value b) {
        return node(Op.MATMUL, List.of(a, b), Map.of(), a.type(), Shapes.matMul(a, b));
    }

    /**
     * {@code A' B'}, where {@code '} swaps an operand's last two axes where asked: ONNX Runtime's contrib
     * {@code com.microsoft.FusedMatMul} (float32; CPU and CUDA). The swap happens inside the product, so no
     * Transpose node exists for ONNX Runtime to merge with a neighbouring one into a copy.
     */
    public Value fusedMatMul(Value a, Value b, boolean transA, boolean transB) {
        Map<String, Object> attrs = Map.of("transA", transA ? 1L : 0L, "transB", transB ? 1L : 0L, "alpha", 1.0);
        return node(Op.FUSED_MATMUL, List.of(a, b), attrs, a.type(),
                Shapes.matMul(transA ? lastTwoSwapped(a) : a, transB ? lastTwoSwapped(b) : b));
    }

    /** A stand-in with {@code v}'s type and its shape's last two axes swapped, for shape inference. */
    private static Value lastTwoSwapped(Value v) {
        if (v.shape() == null || v.rank() < 2) {
            return v;
        }
        List<Dim> dims = new ArrayList<>(v.shape());
        java.util.Collections.swap(dims, dims.size() - 1, dims.size() - 2);
        return new Value(null, v.name(), v.type(), dims);
    }

    /**
     * {@code alpha * A' B' + C} for 2-D A and B; {@code transB} multiplies by B transposed, which is how a
     * {@code [out, in]} Linear weight is used without copying it.
     */
    public Value gemm(Value a, Value b, Value c, boolean transB) {
        return gemm(a, b, c, false, transB);
    }

    /** {@code A' B' + C} with either operand transposed in the kernel (no Transpose node, no copy). */
    public Value gemm(Value a, Value b, Value c, boolean transA, boolean transB) {
        Dim m = transA ? a.dim(1) : a.dim(0);
        Dim n = transB ? b.dim(0) : b.dim(1);
        List<Value> in = new ArrayList<>(Arrays.asList(a, b));
        if (c != null) {
            in.add(c);
        }
        Map<String, Object> attrs = new LinkedHashMap<>();
        if (transA) {
            attrs.put("transA", 1L);
        }
        if (transB) {
            attrs.put("transB", 1L);
        }
        return node(Op.GEMM, in, attrs, a.type(), List.of(m, n));
    }

    /**
     * A Linear layer over the last axis: {@code x [..., in] -> [..., out]} with {@code weight [out, in]} and an
     * optional {@code bias [out]}, as Reshape-Gemm(transB)-Reshape so the weight is used in place.
     */
    public Value linear(Value x, Value weight, Value bias) {
        int rank = x.rank();
        long in = weight.dim(1).size();
        long out = weight.dim(0).size();
        if (x.dim(-1).isKnown() && x.dim(-1).size() != in) {
            throw new IllegalArgumentException("x must have last dimension " + in + " for weight " + weight
                    + ", found " + x);
        }
        if (rank == 2) {
            return gemm(x, weight, bias, true);
        }
        // Restore the leading dimensions from the input's run-time shape.
        return linear(x, weight, bias, slice(shape(x), int64s(0), int64s(rank - 1), int64s(0)));
    }

    /**
     * {@link #linear(Value, Value, Value)} for a 3-D or higher {@code x} whose leading dimensions (all but the
     * last) are already known as a run-time int64 vector {@code leadingDims}: graphs that apply many Linears to
     * tensors of one shape compute it once instead of per layer.
     */
    public Value linear(Value x, Value weight, Value bias, Value leadingDims) {
        long in = weight.dim(1).size();
        long out = weight.dim(0).size();
        Value y = gemm(reshape(x, -1, in), weight, bias, true);
        List<Dim> outShape = x.shape() == null ? null : new ArrayList<>(x.shape());
        if (outShape != null) {
            outShape.set(outShape.size() - 1, Dim.of(out));
        }
        return reshapeTo(y, concat(0, leadingDims, int64s(out)), outShape);
    }

    /** 2-D convolution, NCHW, no padding unless given. */
    public Value conv(Value x, Value w, Value b, long[] strides, long[] pads) {
        return conv(x, w, b, strides, pads, new long[] {1, 1});
    }

    /**
     * 2-D convolution with dilations ({@code [dh, dw]}); the kernel's size must be known unless it is a run-time
     * tensor whose spatial dims are given by the caller's shapes (then the output's spatial dims are unknown).
     */
    public Value conv(Value x, Value w, Value b, long[] strides, long[] pads, long[] dilations) {
        List<Value> in = new ArrayList<>(Arrays.asList(x, w));
        if (b != null) {
            in.add(b);
        }
        Map<String, Object> attrs = new LinkedHashMap<>();
        attrs.put("strides", strides);
        attrs.put("pads", pads);
        boolean kernelKnown = w.dim(2).isKnown() && w.dim(3).isKnown();
        if (kernelKnown) {
            attrs.put("kernel_shape", new long[] {w.dim(2).size(), w.dim(3).size()});
        }
        if (dilations[0] != 1 || dilations[1] != 1) {
            attrs.put("dilations", dilations);
        }
        List<Dim> shape = new ArrayList<>();
        shape.add(x.dim(0));
        shape.add(w.dim(0));
        for (int i = 0; i < 2; i++) {
            Dim d = x.dim(2 + i);
            shape.add(d.isKnown() && kernelKnown ? Dim.of((d.size() + pads[i] + pads[i + 2]
                    - dilations[i] * (w.dim(2 + i).size() - 1) - 1) / strides[i] + 1) : Dim.unknown());
        }
        return node(Op.CONV, in, attrs, x.type(), shape);
    }

    /**
     * 2-D transposed convolution (the gradient of a convolution with respect to its input), NCHW, weight
     * {@code [C_in, C_out, kh, kw]}; {@code outputPadding} adds rows/columns at the end so the output has the size
     * the forward convolution's input had.
     */
    public Value convTranspose(Value x, Value w, long[] strides, long[] pads, long[] outputPadding) {
        Map<String, Object> attrs = new LinkedHashMap<>();
        attrs.put("strides", strides);
        attrs.put("pads", pads);
        attrs.put("kernel_shape", new long[] {w.dim(2).size(), w.dim(3).size()});
        attrs.put("output_padding", outputPadding);
        List<Dim> shape = new ArrayList<>();
        shape.add(x.dim(0));
        shape.add(w.dim(1));
        for (int i = 0; i < 2; i++) {
            Dim d = x.dim(2 + i);
            shape.add(d.isKnown() ? Dim.of((d.size() - 1) * strides[i] - pads[i] - pads[i + 2]
                    + w.dim(2 + i).size() + outputPadding[i]) : Dim.unknown());
        }
        return node(Op.CONV_TRANSPOSE, List.of(x, w), attrs, x.type(), shape);
    }

    public Value softmax(Value x, int axis) {
        return node(Op.SOFTMAX, List.of(x), Map.of("axis", (long) axis), x.type(), x.shape());
    }

    /** LayerNormalization over the last axis; {@code scale} is required by ONNX (pass ones for no affine). */
    public Value layerNorm(Value x, Value scale, Value bias, double epsilon) {
        List<Value> in = new ArrayList<>(Arrays.asList(x, scale));
        if (bias != null) {
            in.add(bias);
        }
        return node(Op.LAYER_NORMALIZATION, in, Map.of("axis", -1L, "epsilon", epsilon), x.type(), x.shape());
    }

    /**
     * LayerNormalization over the last axis that also outputs its per-row mean and inverse standard deviation
     * ({@code [..., 1]}, in {@code x}'s type): a backward pass then needs no second pass over {@code x} for them.
     * Returns {y, mean, invStdDev}.
     */
    public Value[] layerNormWithStatistics(Value x, Value scale, Value bias, double epsilon) {
        List<Value> in = new ArrayList<>(Arrays.asList(x, scale));
        if (bias != null) {
            in.add(bias);
        }
        Map<String, Object> attrs = new LinkedHashMap<>();
        attrs.put("axis", -1L);
        attrs.put("epsilon", epsilon);
        attrs.put("stash_type", (long) x.type().onnx().getNumber());
        List<Dim> stats = null;
        if (x.shape() != null) {
            stats = new ArrayList<>(x.shape());
            stats.set(stats.size() - 1, Dim.of(1));
        }
        return multiNode(Op.LAYER_NORMALIZATION, in, attrs, x.type(), Arrays.asList(x.shape(), stats, stats));
    }

    /** Mean over {@code axes} (given as an input, opset 18+). */
    public Value reduceMean(Value x, boolean keepDims, long... axes) {
        return node(Op.REDUCE_MEAN, List.of(x, int64s(axes)), Map.of("keepdims", keepDims ? 1L : 0L), x.type(),
                reducedShape(x, keepDims, axes));
    }

    /** Sum over {@code axes} (given as an input, opset 13+). */
    public Value reduceSum(Value x, boolean keepDims, long... axes) {
        return node(Op.REDUCE_SUM, List.of(x, int64s(axes)), Map.of("keepdims", keepDims ? 1L : 0L), x.type(),
                reducedShape(x, keepDims, axes));
    }

    /** The sum of the squares of all of {@code x}'s elements, a scalar. */
    public Value sumOfSquares(Value x) {
        return node(Op.REDUCE_SUM_SQUARE, List.of(x), Map.of("keepdims", 0L), x.type(), List.of());
    }

    /** The element-wise sum of {@code terms} (ONNX's variadic Sum), all of one shape. */
    public Value sum(Value... terms) {
        return node(Op.SUM, List.of(terms), Map.of(), terms[0].type(), terms[0].shape());
    }

    private static List<Dim> reducedShape(Value x, boolean keepDims, long... axes) {
        if (x.shape() == null) {
            return null;
        }
        List<Dim> shape = new ArrayList<>();
        for (int i = 0; i < x.rank(); i++) {
            boolean reduced = false;
            for (long a : axes) {
                reduced |= (a < 0 ? a + x.rank() : a) == i;
            }
            if (!reduced) {
                shape.add(x.dim(i));
            } else if (keepDims) {
                shape.add(Dim.of(1));
            }
        }
        return shape;
    }

    /**
     * Zero padding: {@code pads} is a run-time int64 vector {@code [begin_0 .. begin_n-1, end_0 .. end_n-1]}; the
     * padded dims are unknown.
     */
    public Value pad(Value x, Value pads, List<Dim> knownShape) {
        return node(Op.PAD, List.of(x, pads), Map.of("mode", "constant"), x.type(), knownShape);
    }

    /** The Gauss error function. */
    public Value erf(Value x) {
        return unary(Op.ERF, x);
    }

    // ---------------------------------------------------------------- reading the record (autodiff)

    /** The nodes recorded so far, in order (a read-only view). */
    public List<Node> nodes() {
        return java.util.Collections.unmodifiableList(nodes);
    }

    /** The value called {@code name} in this graph. */
    public Value value(String name) {
        Value v = values.get(name);
        if (v == null) {
            throw new IllegalArgumentException("name must be a value of graph " + graphName + ", found '" + name + "'");
        }
        return v;
    }

    /**
     * Whether {@code v} is a float32 constant made by this builder whose every element is exactly {@code value}
     * (e.g. a normalization's unit scale).
     */
    public boolean isFloatConstant(Value v, float value) {
        Constant c = constants.get(own(v).name());
        if (c == null || c.type() != ElementType.FLOAT) {
            return false;
        }
        ByteBuffer b = c.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i + 4 <= b.remaining(); i += 4) {
            if (Float.compare(b.getFloat(i), value) != 0) {
                return false;
            }
        }
        return true;
    }

    /** The contents of an int64 constant made by this builder (axes, sizes, starts), if {@code v} is one. */
    public java.util.Optional<long[]> int64Constant(Value v) {
        Constant c = constants.get(own(v).name());
        if (c == null || c.type() != ElementType.INT64) {
            return java.util.Optional.empty();
        }
        ByteBuffer b = c.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[b.remaining() / 8];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.getLong(i * 8);
        }
        return java.util.Optional.of(out);
    }

    /** The weights declared so far, by name, in declaration order (their values, for full-parameter gradients). */
    public List<Value> weightValues() {
        List<Value> out = new ArrayList<>();
        for (String name : weights.keySet()) {
            out.add(values.get(name));
        }
        return out;
    }

    /** The graph inputs declared so far. */
    public List<Value> inputs() {
        return java.util.Collections.unmodifiableList(inputs);
    }

    /** Reshape to constant dims (0 copies the input dimension, -1 is inferred). */
    public Value reshape(Value x, long... shape) {
        return reshapeTo(x, int64s(shape), Shapes.reshape(x, shape));
    }

    /** Reshape to a run-time shape tensor, with the output shape as far as the caller knows it. */
    public Value reshapeTo(Value x, Value shape, List<Dim> knownShape) {
        return node(Op.RESHAPE, List.of(x, shape), Map.of(), x.type(), knownShape);
    }

    public Value transpose(Value x, int... perm) {
        List<Dim> shape = null;
        if (x.shape() != null) {
            shape = new ArrayList<>();
            for (int p : perm) {
                shape.add(x.dim(p));
            }
        }
        long[] p = Arrays.stream(perm).asLongStream().toArray();
        return node(Op.TRANSPOSE, List.of(x), Map.of("perm", p), x.type(), shape);
    }

    public Value concat(int axis, Value... parts) {
        return node(Op.CONCAT, List.of(parts), Map.of("axis", (long) axis), parts[0].type(), Shapes.concat(axis, parts));
    }

    /** Splits {@code x} along {@code axis} into pieces of the given sizes. */
    public Value[] split(Value x, int axis, long... sizes) {
        List<List<Dim>> shapes = new ArrayList<>();
        for (long s : sizes) {
            List<Dim> shape = x.shape() == null ? null : new ArrayList<>(x.shape());
            if (shape != null) {
                shape.set(axis < 0 ? axis + shape.size() : axis, Dim.of(s));
            }
            shapes.add(shape);
        }
        return multiNode(Op.SPLIT, List.of(x, int64s(sizes)), Map.of("axis", (long) axis), x.type(), shapes);
    }

    /** Slice with run-time starts/ends along {@code axes} (int64 tensors); the result's sliced dims are unknown. */
    public Value slice(Value x, Value starts, Value ends, Value axes) {
        List<Dim> shape = null;
        if (x.shape() != null && x.rank() == 1 && x.type() == ElementType.INT64) {
            shape = List.of(Dim.unknown());
        } else if (x.shape() != null) {
            shape = new ArrayList<>();
            for (int i = 0; i < x.rank(); i++) {
                shape.add(Dim.unknown());
            }
        }
        return node(Op.SLICE, List.of(x, starts, ends, axes), Map.of(), x.type(), shape);
    }

    /** Static slice along one axis. */
    public Value slice(Value x, int axis, long start, long end) {
        List<Dim> shape = x.shape() == null ? null : new ArrayList<>(x.shape());
        if (shape != null) {
            shape.set(axis < 0 ? axis + shape.size() : axis, Dim.of(end - start));
        }
        return node(Op.SLICE, List.of(x, int64s(start), int64s(end), int64s(axis)), Map.of(), x.type(), shape);
    }

    /**
     * Static strided slice: along each {@code axes[i]}, elements {@code starts[i], starts[i] + steps[i], ...} below
     * {@code ends[i]} (steps positive, bounds within the axis).
     */
    public Value slice(Value x, long[] axes, long[] starts, long[] ends, long[] steps) {
        List<Dim> shape = x.shape() == null ? null : new ArrayList<>(x.shape());
        if (shape != null) {
            for (int i = 0; i < axes.length; i++) {
                int a = (int) (axes[i] < 0 ? axes[i] + shape.size() : axes[i]);
                shape.set(a, Dim.of((ends[i] - starts[i] + steps[i] - 1) / steps[i]));
            }
        }
        return node(Op.SLICE, List.of(x, int64s(starts), int64s(ends), int64s(axes), int64s(steps)), Map.of(),
                x.type(), shape);
    }

    public Value unsqueeze(Value x, long... axes) {
        List<Dim> shape = null;
        if (x.shape() != null) {
            shape = new ArrayList<>(x.shape());
            long[] sorted = axes.clone();
            Arrays.sort(sorted);
            int outRank = shape.size() + axes.length;
            for (long a : sorted) {
                shape.add((int) (a < 0 ? a + outRank : a), Dim.of(1));
            }
        }
        return node(Op.UNSQUEEZE, List.of(x, int64s(axes)), Map.of(), x.type(), shape);
    }

    public Value squeeze(Value x, long... axes) {
        List<Dim> shape = null;
        if (x.shape() != null) {
            shape = new ArrayList<>();
            for (int i = 0; i < x.rank(); i++) {
                boolean drop = false;
                for (long a : axes) {
                    drop |= (a < 0 ? a + x.rank() : a) == i;
                }
                if (!drop) {
                    shape.add(x.dim(i));
                }
            }
        }
        return node(Op.SQUEEZE, List.of(x, int64s(axes)), Map.of(), x.type(), shape);
    }

    /** Gather along {@code axis} with int64 {@code indices}. */
    public Value gather(Value x, Value indices, int axis) {
        List<Dim> shape = null;
        if (x.shape() != null && indices.shape() != null) {
            int a = axis < 0 ? axis + x.rank() : axis;
            shape = new ArrayList<>(x.shape().subList(0, a));
            shape.addAll(indices.shape());
            shape.addAll(x.shape().subList(a + 1, x.rank()));
        }
        return node(Op.GATHER, List.of(x, indices), Map.of("axis", (long) axis), x.type(), shape);
    }

    /**
     * {@code data} with {@code updates} added at {@code indices} along {@code axis} (ScatterElements, reduction
     * "add": repeated indices accumulate): the gradient of a Gather.
     */
    public Value scatterAdd(Value data, Value indices, Value updates, int axis) {
        Map<String, Object> attrs = new LinkedHashMap<>();
        attrs.put("axis", (long) axis);
        attrs.put("reduction", "add");
        return node(Op.SCATTER_ELEMENTS, List.of(data, indices, updates), attrs, data.type(), data.shape());
    }

    /** The run-time shape of {@code x} as an int64 vector. */
    public Value shape(Value x) {
        return node(Op.SHAPE, List.of(x), Map.of(), ElementType.INT64,
                List.of(x.shape() == null ? Dim.unknown() : Dim.of(x.rank())));
    }

    /** Dimension {@code axis} of {@code x} at run time, as an int64 scalar. */
    public Value dimOf(Value x, int axis) {
        return gather(shape(x), int64Scalar(axis), 0);
    }

    /** {@code [start, limit)} step {@code delta}, all int64 scalars. */
    public Value range(Value start, Value limit, Value delta) {
        return node(Op.RANGE, List.of(start, limit, delta), Map.of(), start.type(), List.of(Dim.unknown()));
    }

    public Value cast(Value x, ElementType to) {
        if (x.type() == to) {
            return x;
        }
        return node(Op.CAST, List.of(x), Map.of("to", (long) to.onnx().getNumber()), to, x.shape());
    }

    /**
     * ONNX Runtime's fused multi-head attention: {@code q [B, Lq, H*d]}, {@code k, v [B, Lk, H*d]} ->
     * {@code [B, Lq, H*d]}, softmax scale {@code 1/sqrt(d)}.
     */
    public Value multiHeadAttention(Value q, Value k, Value v, int heads) {
        return node(Op.MULTI_HEAD_ATTENTION, List.of(q, k, v), Map.of("num_heads", (long) heads), q.type(), q.shape());
    }

    // ---------------------------------------------------------------- result

    /** Freezes the recorded graph. The builder must not be used afterwards. */
    public OnnxGraph build() {
        if (outputs.isEmpty()) {
            throw new IllegalStateException("graph " + graphName + " has no outputs");
        }
        return new OnnxGraph(graphName, withoutRenamingIdentities(), List.copyOf(inputs),
                List.copyOf(outputs.values()), new LinkedHashMap<>(weights), new LinkedHashMap<>(constants));
    }

    /**
     * The nodes, with each Identity that only renames a node's result to an output name ({@link #output}) removed
     * and the result produced under the output name instead. ONNX Runtime removes such an Identity itself only
     * while nothing else reads the output; otherwise (a training step also sums the squares of each gradient it
     * outputs) it copies the whole tensor.
     */
    private List<Node> withoutRenamingIdentities() {
        Set<String> produced = new HashSet<>();
        for (Node n : nodes) {
            produced.addAll(n.outputs());
        }
        Map<String, String> renamed = new HashMap<>();
        Set<String> dropped = new HashSet<>();
        for (Node n : nodes) {
            if (n.op() != Op.IDENTITY) {
                continue;
            }
            String from = n.inputs().get(0);
            String to = n.outputs().get(0);
            if (outputs.containsKey(to) && produced.contains(from) && !outputs.containsKey(from)
                    && !renamed.containsKey(from)) {
                renamed.put(from, to);
                dropped.add(n.name());
            }
        }
        if (renamed.isEmpty()) {
            return List.copyOf(nodes);
        }
        List<Node> out = new ArrayList<>(nodes.size() - dropped.size());
        for (Node n : nodes) {
            if (!dropped.contains(n.name())) {
                out.add(new Node(n.op(), n.name(), rename(n.inputs(), renamed), rename(n.outputs(), renamed),
                        n.attributes()));
            }
        }
        return List.copyOf(out);
    }

    private static List<String> rename(List<String> names, Map<String, String> renamed) {
        List<String> out = new ArrayList<>(names.size());
        for (String n : names) {
            out.add(renamed.getOrDefault(n, n));
        }
        return out;
    }
}
