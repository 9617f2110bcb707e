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
import ai.onnxruntime.OnnxTensorLike;
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
    private final org.sd3j.onnx.runtime.OnnxRunListener runListener;
    private volatile boolean closed;

    private GraphSession(String name, OrtEnvironment env, OrtSession session, List<OnnxTensor> weightTensors,
                         Map<String, OnnxTensor> weightInputs, org.sd3j.onnx.runtime.OnnxRunListener runListener) {
        this.name = name;
        this.runListener = runListener;
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
        Map<String, OnnxTensorLike> external = new LinkedHashMap<>();
        long start = System.nanoTime();
        try (OrtSession.SessionOptions options = SessionOptionsFactory.create(config, graph.weightBytes())) {
            for (String w : graph.weightOrder()) {
                WeightData d = graph.weights().get(w);
                OnnxTensor t = OnnxTensor.createTensor(env, d.data().duplicate().order(ByteOrder.LITTLE_ENDIAN),
                        d.shape(), javaType(d.type()));
                tensors.add(t);
                if (binding == WeightBinding.INPUTS) {
                    asInputs.put(w, t);
                } else {
                    external.put(w, t);
                }
            }
            // Replaces the EXTERNAL initializers as the model is read, before the graph optimizations: a node whose
            // inputs all become constants (a crop of the position table once fixed dimensions are known) is then
            // folded from these tensors instead of failing to read a data file that does not exist.
            options.addExternalInitializers(external);
            byte[] model = graph.toModel(OnnxGraph.BOUND_AT_SESSION, binding == WeightBinding.INPUTS).toByteArray();
            OrtSession session = env.createSession(model, options);
            LOG.debug("Session for {} ({} weights, {} MB, as {}) created in {} ms", graph.name(), tensors.size(),
                    graph.weightBytes() >> 20, binding, (System.nanoTime() - start) / 1_000_000);
            return new GraphSession(graph.name(), env, session, tensors, asInputs, config.runListener());
        } catch (org.sd3j.Sd3Exception e) {
            throw Closeables.closeAfterFailure(e, tensors.toArray(AutoCloseable[]::new));
        } catch (OrtException | RuntimeException e) {
            throw Closeables.closeAfterFailure(new BackendException(graph.name(), "createSession", e.getMessage(), e),
                    tensors.toArray(AutoCloseable[]::new));
        }
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
        return load(modelFile, config, Map.of());
    }

    /**
     * Opens an existing {@code model.onnx} with some of its initializers replaced: ONNX Runtime uses the given
     * weights (bound zero-copy, borrowed until this session is closed) instead of reading those from the file, and
     * reads every other one from the file as usual (LoRAs merged into an export).
     *
     * @param initializers initializer name -> the weights to use, each of the file's type and shape
     */
    public static GraphSession load(java.nio.file.Path modelFile, OnnxOptions config,
                                    Map<String, WeightData> initializers) {
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
        List<OnnxTensor> replaced = new ArrayList<>();
        try (OrtSession.SessionOptions options = SessionOptionsFactory.create(config, bytes)) {
            for (Map.Entry<String, WeightData> e : initializers.entrySet()) {
                WeightData d = e.getValue();
                OnnxTensor t = OnnxTensor.createTensor(env, d.data().duplicate().order(ByteOrder.LITTLE_ENDIAN),
                        d.shape(), javaType(d.type()));
                replaced.add(t);
                options.addInitializer(e.getKey(), t);
            }
            OrtSession session = env.createSession(modelFile.toString(), options);
            LOG.debug("Session for {} ({} initializers replaced) created in {} ms", modelFile, replaced.size(),
                    (System.nanoTime() - start) / 1_000_000);
            return new GraphSession(modelFile.toString(), env, session, replaced, Map.of(), config.runListener());
        } catch (OrtException e) {
            throw Closeables.closeAfterFailure(new org.sd3j.ModelLoadException(modelFile,
                    "ONNX Runtime cannot load the model: " + e.getMessage(), e), replaced.toArray(AutoCloseable[]::new));
        } catch (RuntimeException e) {
            throw Closeables.closeAfterFailure(e, replaced.toArray(AutoCloseable[]::new));
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
     * Runs the graph on float32 inputs (converted to the declared input types) and copies every float output into
     * a new {@link Tensor}.
     *
     * @param inputs input name -> tensor (borrowed)
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) {
        return run(inputs, null);
    }

    /**
     * Like {@link #run(Map)}, computing and copying only {@code outputs} (e.g. two of a CLIP export's fourteen
     * hidden states); all outputs when null.
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs, java.util.Set<String> outputs) {
        ensureOpen();
        Map<String, OnnxTensor> ort = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
                ort.put(e.getKey(), OrtTensors.forRun(env, e.getValue(),
                        inputTypes.getOrDefault(e.getKey(), OnnxJavaType.FLOAT)));
            }
            Map<String, OnnxTensor> feed = ort;
            if (!weightInputs.isEmpty()) {
                feed = new LinkedHashMap<>(weightInputs);
                feed.putAll(ort);
            }
            long start = System.nanoTime();
            try (OrtSession.Result result = outputs == null ? session.run(feed) : session.run(feed, outputs)) {
                record(start);
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

    /**
     * Runs the graph with float64 precision end to end (gradient checks, float64 graphs): inputs declared DOUBLE
     * are fed as given, FLOAT ones rounded; DOUBLE and FLOAT outputs come back as {@code double[]}, row-major.
     *
     * @param inputs input name -> values
     * @param shapes input name -> shape
     */
    public Map<String, double[]> runDoubles(Map<String, double[]> inputs, Map<String, long[]> shapes) {
        ensureOpen();
        Map<String, OnnxTensor> ort = new LinkedHashMap<>(weightInputs);
        List<OnnxTensor> created = new ArrayList<>();
        try {
            for (Map.Entry<String, double[]> e : inputs.entrySet()) {
                long[] shape = shapes.get(e.getKey());
                if (shape == null) {
                    throw new IllegalArgumentException("shapes must hold input " + e.getKey() + ", found "
                            + shapes.keySet());
                }
                OnnxJavaType type = inputTypes.getOrDefault(e.getKey(), OnnxJavaType.DOUBLE);
                OnnxTensor t;
                if (type == OnnxJavaType.DOUBLE) {
                    t = OnnxTensor.createTensor(env, java.nio.DoubleBuffer.wrap(e.getValue()), shape);
                } else {
                    float[] f = new float[e.getValue().length];
                    for (int i = 0; i < f.length; i++) {
                        f[i] = (float) e.getValue()[i];
                    }
                    t = OnnxTensor.createTensor(env, FloatBuffer.wrap(f), shape);
                }
                created.add(t);
                ort.put(e.getKey(), t);
            }
            long start = System.nanoTime();
            try (OrtSession.Result result = session.run(ort)) {
                record(start);
                Map<String, double[]> out = new LinkedHashMap<>();
                for (Map.Entry<String, OnnxValue> e : result) {
                    OnnxTensor t = (OnnxTensor) e.getValue();
                    if (t.getInfo().type == OnnxJavaType.DOUBLE) {
                        java.nio.DoubleBuffer b = t.getDoubleBuffer();
                        double[] d = new double[b.remaining()];
                        b.get(d);
                        out.put(e.getKey(), d);
                    } else {
                        FloatBuffer b = t.getFloatBuffer();
                        double[] d = new double[b.remaining()];
                        for (int i = 0; i < d.length; i++) {
                            d[i] = b.get(i);
                        }
                        out.put(e.getKey(), d);
                    }
                }
                return out;
            }
        } catch (OrtException e) {
            throw new BackendException(name, "run", e.getMessage(), e);
        } finally {
            for (OnnxTensor t : created) {
                t.close();
            }
        }
    }

    private void record(long start) {
        runListener.onRun(name, System.nanoTime() - start);
    }

    /** The declared element type of each input (weights fed as inputs excluded), e.g. {@code FLOAT16}. */
    public Map<String, String> inputTypes() {
        Map<String, String> out = new LinkedHashMap<>();
        inputTypes.forEach((k, v) -> out.put(k, v.name()));
        return out;
    }

    /** The declared element type of each output, e.g. {@code FLOAT}. */
    public Map<String, String> outputTypes() {
        ensureOpen();
        Map<String, String> out = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, NodeInfo> e : session.getOutputInfo().entrySet()) {
                if (e.getValue().getInfo() instanceof TensorInfo) {
                    out.put(e.getKey(), ((TensorInfo) e.getValue().getInfo()).type.name());
                }
            }
        } catch (OrtException e) {
            throw new BackendException(name, "outputInfo", e.getMessage(), e);
        }
        return out;
    }

    /**
     * The graph's signature for error messages: {@code inputs [name TYPE[dims], ...], outputs [...]}, symbolic
     * dimensions as -1.
     */
    public String describeSignature() {
        return "inputs " + describe(inputTypes(), inputShapes()) + ", outputs " + describe(outputTypes(), outputShapes());
    }

    private static String describe(Map<String, String> types, Map<String, long[]> shapes) {
        StringBuilder sb = new StringBuilder("[");
        types.forEach((k, v) -> sb.append(sb.length() > 1 ? ", " : "").append(k).append(' ').append(v)
                .append(java.util.Arrays.toString(shapes.get(k))));
        return sb.append(']').toString();
    }

    /**
     * Binds inputs that stay the same over many runs (a generation's conditioning) and the output to write, for
     * runs that reuse every buffer: fixed inputs are converted once, varying inputs passed as the same tensors are
     * wrapped once (float32) or refilled in place (other types), and float32 outputs are ONNX Runtime pinned
     * outputs written straight into the caller's tensor.
     *
     * @param fixed   input name -> tensor, borrowed until the binding is closed
     * @param varying the names of the inputs given to each {@link Binding#run}
     * @param output  the output written by each run
     */
    public Binding bind(Map<String, Tensor> fixed, List<String> varying, String output) {
        return bind(fixed, varying, List.of(output));
    }

    /** {@link #bind(Map, List, String)} for several outputs (a training step's loss and gradients). */
    public Binding bind(Map<String, Tensor> fixed, List<String> varying, List<String> outputs) {
        ensureOpen();
        return new Binding(fixed, varying, outputs);
    }

    /**
     * Runs of one session with reused buffers (see {@link GraphSession#bind}). Confined to one thread but for
     * {@link #abort()}; closes what it created (idempotent).
     */
    public final class Binding implements AutoCloseable {
        private final OrtSession.RunOptions runOptions;
        private final List<AutoCloseable> owned = new ArrayList<>();
        private final Map<String, OnnxTensor> feed = new LinkedHashMap<>();
        private final String[] varying;
        private final Tensor[] lastInputs;
        private final OrtTensors.Staging[] staging;
        /** Whether the feed tensor of varying input i is this binding's (else it is the session's weight, or none yet). */
        private final boolean[] createdInput;
        private final String[] outputs;
        private final OnnxJavaType[] outputTypes;
        private final Map<String, OnnxTensor> pinned = new LinkedHashMap<>();
        private final Tensor[] lastOutputs;
        private final OrtTensors.Staging[] outputStaging;
        private boolean closed;

        private Binding(Map<String, Tensor> fixed, List<String> varying, List<String> outputs) {
            this.varying = varying.toArray(String[]::new);
            this.lastInputs = new Tensor[this.varying.length];
            this.staging = new OrtTensors.Staging[this.varying.length];
            this.createdInput = new boolean[this.varying.length];
            this.outputs = outputs.toArray(String[]::new);
            this.lastOutputs = new Tensor[this.outputs.length];
            this.outputStaging = new OrtTensors.Staging[this.outputs.length];
            this.outputTypes = new OnnxJavaType[this.outputs.length];
            try {
                this.runOptions = new OrtSession.RunOptions();
                owned.add(runOptions);
                feed.putAll(weightInputs);
                for (Map.Entry<String, Tensor> e : fixed.entrySet()) {
                    OnnxTensor t = OrtTensors.forRun(env, e.getValue(), typeOf(e.getKey()));
                    owned.add(t);
                    feed.put(e.getKey(), t);
                }
                Map<String, NodeInfo> info = session.getOutputInfo();
                for (int i = 0; i < this.outputs.length; i++) {
                    NodeInfo out = info.get(this.outputs[i]);
                    if (out == null || !(out.getInfo() instanceof TensorInfo)) {
                        throw new IllegalArgumentException("output must be one of " + outputNames() + ", found "
                                + this.outputs[i]);
                    }
                    outputTypes[i] = ((TensorInfo) out.getInfo()).type;
                }
            } catch (OrtException e) {
                close();
                throw new BackendException(name, "bind", e.getMessage(), e);
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        private OnnxJavaType typeOf(String input) {
            OnnxJavaType t = inputTypes.get(input);
            if (t == null && weightInputs.containsKey(input)) {
                // A weight fed as an input can be replaced per run (full-parameter training feeds its own copies).
                t = weightInputs.get(input).getInfo().type;
            }
            if (t == null) {
                throw new IllegalArgumentException("input must be one of " + inputTypes.keySet() + ", found " + input);
            }
            return t;
        }

        /**
         * One run: {@code inputs[i]} feeds the i-th varying input; the (single) output is written into
         * {@code out}, whose shape must be the output's.
         */
        public void run(Tensor out, Tensor... inputs) {
            run(new Tensor[] {out}, inputs);
        }

        /** One run writing the bound outputs, in order, into {@code outs} (shapes as the graph computes them). */
        public void run(Tensor[] outs, Tensor... inputs) {
            ensureOpen();
            if (closed) {
                throw new IllegalStateException("binding of session " + name + " is closed");
            }
            if (inputs.length != varying.length) {
                throw new IllegalArgumentException("inputs must hold " + varying.length + " tensors "
                        + java.util.Arrays.toString(varying) + ", found " + inputs.length);
            }
            if (outs.length != outputs.length) {
                throw new IllegalArgumentException("outs must hold " + outputs.length + " tensors "
                        + java.util.Arrays.toString(outputs) + ", found " + outs.length);
            }
            try {
                for (int i = 0; i < inputs.length; i++) {
                    bindInput(i, inputs[i]);
                }
                for (int i = 0; i < outs.length; i++) {
                    bindOutput(i, outs[i]);
                }
                long start = System.nanoTime();
                try (OrtSession.Result ignored = session.run(feed, java.util.Set.of(), pinned, runOptions)) {
                    record(start);
                }
                for (int i = 0; i < outs.length; i++) {
                    if (outputStaging[i] != null) {
                        outputStaging[i].drainInto(outs[i]);
                    }
                }
            } catch (OrtException e) {
                throw new BackendException(name, "run", e.getMessage(), e);
            }
        }

        private void bindInput(int i, Tensor t) throws OrtException {
            OrtTensors.Staging s = staging[i];
            if (t == lastInputs[i] && s == null) {
                return; // the same float32 tensor, wrapped already: ONNX Runtime reads its current contents
            }
            OnnxJavaType type = typeOf(varying[i]);
            if (s != null && java.util.Arrays.equals(s.shape, OrtTensors.shape(t))) {
                s.fill(t);
                lastInputs[i] = t;
                return;
            }
            // A weight's own tensor (what the feed starts with for a weight fed as an input) is the session's.
            OnnxTensor previous = createdInput[i] ? feed.get(varying[i]) : null;
            if (OrtTensors.wrappable(t, type)) {
                feed.put(varying[i], OnnxTensor.createTensor(env, t.asFloatBuffer(), OrtTensors.shape(t)));
                staging[i] = null;
            } else {
                staging[i] = new OrtTensors.Staging(env, type, OrtTensors.shape(t));
                staging[i].fill(t);
                feed.put(varying[i], staging[i].tensor);
            }
            lastInputs[i] = t;
            createdInput[i] = true;
            if (previous != null) {
                previous.close();
            }
        }

        private void bindOutput(int i, Tensor out) throws OrtException {
            if (out == lastOutputs[i]) {
                return;
            }
            OnnxTensor previous = pinned.get(outputs[i]);
            if (outputTypes[i] == OnnxJavaType.FLOAT && OrtTensors.wrappable(out, OnnxJavaType.FLOAT)) {
                pinned.put(outputs[i], OnnxTensor.createTensor(env, out.asFloatBuffer(), OrtTensors.shape(out)));
                outputStaging[i] = null;
            } else {
                outputStaging[i] = new OrtTensors.Staging(env, outputTypes[i], OrtTensors.shape(out));
                pinned.put(outputs[i], outputStaging[i].tensor);
            }
            lastOutputs[i] = out;
            if (previous != null) {
                previous.close();
            }
        }

        /** Makes a run in flight on another thread, and every later one, fail at once. Any thread. */
        public void abort() {
            try {
                runOptions.setTerminate(true);
            } catch (OrtException e) {
                LOG.warn("Could not abort a run of {}: {}", name, e.getMessage());
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            List<AutoCloseable> all = new ArrayList<>();
            for (int i = 0; i < varying.length; i++) {
                if (createdInput[i]) {
                    all.add(feed.get(varying[i]));
                }
            }
            all.addAll(pinned.values());
            all.addAll(owned);
            Closeables.closeAll(all);
        }
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
