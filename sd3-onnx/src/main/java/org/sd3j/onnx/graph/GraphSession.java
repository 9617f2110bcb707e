package org.sd3j.onnx.graph;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import org.sd3j.BackendException;
import org.sd3j.internal.Closeables;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.runtime.SessionOptionsFactory;
import org.sd3j.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An ONNX Runtime session over an {@link OnnxGraph}, with every weight bound zero-copy through
 * {@code SessionOptions.addInitializer} from its (memory-mapped) buffer: no weight is copied into the Java heap.
 *
 * <p>Owns the session and the weight tensor handles; {@link #close()} releases them (idempotent). The weight
 * buffers themselves are borrowed: keep their source open until this session is closed. Thread-safe: ONNX
 * Runtime sessions accept concurrent runs.
 */
public final class GraphSession implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GraphSession.class);

    /** How weights reach ONNX Runtime. Both are zero-copy from the weights' buffers. */
    public enum WeightBinding {
        /**
         * EXTERNAL initializers bound at session creation: ONNX Runtime may fold and repack them (fastest; see
         * {@link org.sd3j.onnx.runtime.OnnxOptions.Prepacking}).
         */
        INITIALIZERS,
        /**
         * Extra graph inputs fed with every run: ONNX Runtime treats them as run-time data, so in-graph
         * conversions of them (e.g. float16 weights cast to float32) run per forward instead of being folded into
         * a second, wider copy at session creation.
         */
        INPUTS
    }

    private final String name;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final List<OnnxTensor> weightTensors;
    /** Weights fed as inputs on every run (WeightBinding.INPUTS), else empty. */
    private final Map<String, OnnxTensor> weightInputs;
    private final Map<String, OnnxJavaType> inputTypes;
    private final Map<String, long[]> inputShapes;
    private volatile boolean closed;

    private GraphSession(String name, OrtEnvironment env, OrtSession session, List<OnnxTensor> weightTensors,
                         Map<String, OnnxTensor> weightInputs) {
        this.name = name;
        this.env = env;
        this.session = session;
        this.weightTensors = weightTensors;
        this.weightInputs = weightInputs;
        this.inputTypes = new LinkedHashMap<>();
        this.inputShapes = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
                if (weightInputs.containsKey(e.getKey())) {
                    continue;
                }
                if (e.getValue().getInfo() instanceof TensorInfo) {
                    TensorInfo info = (TensorInfo) e.getValue().getInfo();
                    inputTypes.put(e.getKey(), info.type);
                    inputShapes.put(e.getKey(), info.getShape());
                }
            }
        } catch (OrtException e) {
            throw new BackendException(name, "inputInfo", e.getMessage(), e);
        }
    }

    /** Declared input shapes by name (-1 for symbolic dimensions), in graph order. */
    public Map<String, long[]> inputShapes() {
        Map<String, long[]> out = new LinkedHashMap<>();
        inputShapes.forEach((k, v) -> out.put(k, v.clone()));
        return out;
    }

    /** Declared output shapes by name (-1 for symbolic dimensions). */
    public Map<String, long[]> outputShapes() {
        ensureOpen();
        Map<String, long[]> out = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, NodeInfo> e : session.getOutputInfo().entrySet()) {
                if (e.getValue().getInfo() instanceof TensorInfo) {
                    out.put(e.getKey(), ((TensorInfo) e.getValue().getInfo()).getShape());
                }
            }
        } catch (OrtException e) {
            throw new BackendException(name, "outputInfo", e.getMessage(), e);
        }
        return out;
    }

    /** Creates a session for {@code graph}; fails with a {@link BackendException} saying what ONNX Runtime said. */
    public static GraphSession create(OnnxGraph graph, OnnxOptions config) {
        return create(graph, config, WeightBinding.INITIALIZERS);
    }

    /** Creates a session with the weights bound as {@code binding} says. */
    public static GraphSession create(OnnxGraph graph, OnnxOptions config, WeightBinding binding) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<OnnxTensor> tensors = new ArrayList<>();
        Map<String, OnnxTensor> asInputs = new LinkedHashMap<>();
        long start = System.nanoTime();
        try (OrtSession.SessionOptions options = options(config, graph.weightBytes())) {
            for (String w : graph.weightOrder()) {
                WeightData d = graph.weights().get(w);
                OnnxTensor t = OnnxTensor.createTensor(env, d.data().duplicate().order(ByteOrder.LITTLE_ENDIAN),
                        d.shape(), javaType(d.type()));
                tensors.add(t);
                if (binding == WeightBinding.INPUTS) {
                    asInputs.put(w, t);
                } else {
                    options.addInitializer(w, t);
                }
            }
            byte[] model = graph.toModel(OnnxGraph.BOUND_AT_SESSION, binding == WeightBinding.INPUTS).toByteArray();
            OrtSession session = env.createSession(model, options);
            LOG.debug("Session for {} ({} weights, {} MB, as {}) created in {} ms", graph.name(), tensors.size(),
                    graph.weightBytes() >> 20, binding, (System.nanoTime() - start) / 1_000_000);
            return new GraphSession(graph.name(), env, session, tensors, asInputs);
        } catch (org.sd3j.Sd3Exception e) {
            throw Closeables.closeAfterFailure(e, tensors.toArray(AutoCloseable[]::new));
        } catch (OrtException | RuntimeException e) {
            throw Closeables.closeAfterFailure(new BackendException(graph.name(), "createSession", e.getMessage(), e),
                    tensors.toArray(AutoCloseable[]::new));
        }
    }

    static OrtSession.SessionOptions options(OnnxOptions config, long weightBytes) throws OrtException {
        return SessionOptionsFactory.create(config, weightBytes);
    }

    private static OnnxJavaType javaType(ElementType type) {
        switch (type) {
            case FLOAT:
                return OnnxJavaType.FLOAT;
            case FLOAT16:
                return OnnxJavaType.FLOAT16;
            case BFLOAT16:
                return OnnxJavaType.BFLOAT16;
            case DOUBLE:
                return OnnxJavaType.DOUBLE;
            case INT64:
                return OnnxJavaType.INT64;
            case INT32:
                return OnnxJavaType.INT32;
            default:
                throw new IllegalArgumentException("weight type must be a numeric type, found " + type);
        }
    }

    /**
     * Opens an existing {@code model.onnx} (ONNX Runtime reads its external data files itself, whatever their
     * names).
     */
    public static GraphSession load(java.nio.file.Path modelFile, OnnxOptions config) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long start = System.nanoTime();
        // External data files sit beside the model (optimum puts one model per folder): count the folder.
        long bytes = 0;
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.list(
                modelFile.toAbsolutePath().getParent())) {
            for (java.nio.file.Path p : (Iterable<java.nio.file.Path>) files::iterator) {
                if (java.nio.file.Files.isRegularFile(p)) {
                    bytes += java.nio.file.Files.size(p);
                }
            }
        } catch (java.io.IOException ignored) {
            // ONNX Runtime reports an unreadable model below.
        }
        try (OrtSession.SessionOptions options = options(config, bytes)) {
            OrtSession session = env.createSession(modelFile.toString(), options);
            LOG.debug("Session for {} created in {} ms", modelFile, (System.nanoTime() - start) / 1_000_000);
            return new GraphSession(modelFile.toString(), env, session, List.of(), Map.of());
        } catch (OrtException e) {
            throw new org.sd3j.ModelLoadException(modelFile, "ONNX Runtime cannot load the model: " + e.getMessage(), e);
        }
    }

    /** Input names in graph order (weights fed as inputs excluded). */
    public List<String> inputNames() {
        return new ArrayList<>(inputTypes.keySet());
    }

    public List<String> outputNames() {
        return new ArrayList<>(session.getOutputNames());
    }

    /**
     * Runs the graph on float32 inputs and copies every float output into a new {@link Tensor}.
     *
     * @param inputs input name -> tensor (borrowed)
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) {
        ensureOpen();
        Map<String, OnnxTensor> ort = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
                ort.put(e.getKey(), toOrt(e.getValue(), inputTypes.getOrDefault(e.getKey(), OnnxJavaType.FLOAT)));
            }
            Map<String, OnnxTensor> feed = ort;
            if (!weightInputs.isEmpty()) {
                feed = new LinkedHashMap<>(weightInputs);
                feed.putAll(ort);
            }
            try (OrtSession.Result result = session.run(feed)) {
                Map<String, Tensor> out = new LinkedHashMap<>();
                for (Map.Entry<String, OnnxValue> e : result) {
                    out.put(e.getKey(), fromOrt((OnnxTensor) e.getValue()));
                }
                return out;
            }
        } catch (OrtException e) {
            throw new BackendException(name, "run", e.getMessage(), e);
        } finally {
            for (OnnxTensor t : ort.values()) {
                t.close();
            }
        }
    }

    /** Converts a float tensor to the element type the graph declares for that input (exports vary). */
    private OnnxTensor toOrt(Tensor t, OnnxJavaType type) throws OrtException {
        FloatBuffer b = t.asFloatBuffer();
        long[] shape = new long[t.rank()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = t.dim(i);
        }
        if (type == OnnxJavaType.FLOAT16) {
            java.nio.ByteBuffer half = java.nio.ByteBuffer.allocateDirect(t.size() * 2).order(ByteOrder.nativeOrder());
            for (int i = 0; i < t.size(); i++) {
                half.putShort(i * 2, org.sd3j.onnx.safetensors.Half.floatToF16(t.get(i)));
            }
            return OnnxTensor.createTensor(env, half, shape, OnnxJavaType.FLOAT16);
        }
        if (type == OnnxJavaType.INT64) {
            java.nio.LongBuffer longs = java.nio.ByteBuffer.allocateDirect(t.size() * 8).order(ByteOrder.nativeOrder())
                    .asLongBuffer();
            for (int i = 0; i < t.size(); i++) {
                longs.put(i, Math.round(t.get(i)));
            }
            return OnnxTensor.createTensor(env, longs, shape);
        }
        if (type != OnnxJavaType.FLOAT) {
            throw new IllegalArgumentException("input type must be float, float16 or int64, found " + type);
        }
        if (b.order() != ByteOrder.nativeOrder()) {
            FloatBuffer copy = java.nio.ByteBuffer.allocateDirect(t.size() * 4).order(ByteOrder.nativeOrder())
                    .asFloatBuffer();
            copy.put(b);
            b = copy.flip();
        }
        return OnnxTensor.createTensor(env, b, shape);
    }

    private static Tensor fromOrt(OnnxTensor t) throws OrtException {
        TensorInfo info = t.getInfo();
        long[] shape = info.getShape();
        int[] s = new int[shape.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = Math.toIntExact(shape[i]);
        }
        Tensor out = Tensor.zeros(s);
        if (info.type == OnnxJavaType.FLOAT) {
            out.asFloatBuffer().put(t.getFloatBuffer());
        } else if (info.type == OnnxJavaType.FLOAT16 || info.type == OnnxJavaType.BFLOAT16) {
            // ORT's Java API widens 16-bit floats to float32 on read.
            out.asFloatBuffer().put(t.getFloatBuffer());
        } else {
            throw new IllegalStateException("output must be floating point, found " + info.type);
        }
        return out;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("session " + name + " is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // The session first: it reads the weight tensors until it is gone.
        List<AutoCloseable> all = new ArrayList<>();
        all.add(session);
        all.addAll(weightTensors);
        Closeables.closeAll(all);
    }
}
