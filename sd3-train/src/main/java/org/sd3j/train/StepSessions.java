package org.sd3j.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.internal.Checks;
import org.sd3j.internal.Closeables;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.runtime.SessionOptionsFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ONNX Runtime sessions of one step graph: one session per batch shape, created at the shape's first step with
 * the graph's symbolic dimensions fixed to it ({@link OnnxOptions.Builder#fixedDimension}), so ONNX Runtime folds
 * the backward pass's run-time shape computations into constants (about 5% faster steps on the 2-core CI machine).
 * At most {@value #MAX_SPECIALIZED} shapes get a session of their own, bounding the memory that each session's
 * buffers take; further shapes share one session with symbolic dimensions, created when first needed (a run with one
 * batch shape never creates it: 0.6 s and a second set of prepacked weights saved for the depth-4 benchmark model).
 * The execution provider is checked at construction, so an unavailable one fails (or falls back) at once. Owns its
 * sessions; not thread-safe.
 */
final class StepSessions implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StepSessions.class);
    /** Shapes with a session of their own; e.g. a 256^2 run with a smaller last batch needs two. */
    static final int MAX_SPECIALIZED = 4;

    private final OnnxGraph graph;
    private final OnnxOptions options;
    private final GraphSession.WeightBinding binding;
    private GraphSession general;
    private final Map<Map<String, Long>, GraphSession> specialized = new LinkedHashMap<>();
    private boolean closed;

    /**
     * Creates no session yet.
     *
     * @throws org.sd3j.onnx.runtime.ProviderUnavailableException when the options' provider cannot be used and
     *                                                            their fallback is to fail
     */
    StepSessions(OnnxGraph graph, OnnxOptions options, GraphSession.WeightBinding binding) {
        this.graph = Checks.notNull(graph, "graph");
        this.options = SessionOptionsFactory.resolve(Checks.notNull(options, "options"));
        this.binding = Checks.notNull(binding, "binding");
    }

    /** The session with symbolic dimensions (any shape), created at the first call. */
    GraphSession general() {
        ensureOpen();
        if (general == null) {
            general = GraphSession.create(graph, options, binding);
        }
        return general;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("step sessions are closed");
        }
    }

    /**
     * The session for inputs whose symbolic dimensions have the sizes in {@code dimensions} (name -> size, as the
     * graph's inputs name them).
     */
    GraphSession forShape(Map<String, Long> dimensions) {
        ensureOpen();
        GraphSession s = specialized.get(dimensions);
        if (s != null) {
            return s;
        }
        if (specialized.size() >= MAX_SPECIALIZED) {
            return general();
        }
        OnnxOptions.Builder b = options.toBuilder();
        dimensions.forEach(b::fixedDimension);
        long start = System.nanoTime();
        s = GraphSession.create(graph, b.build(), binding);
        specialized.put(Map.copyOf(dimensions), s);
        LOG.debug("Session for {} at {} created in {} ms", graph.name(), dimensions,
                (System.nanoTime() - start) / 1_000_000);
        return s;
    }

    /** Closes every session (idempotent). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<AutoCloseable> all = new ArrayList<>(specialized.values());
        all.add(general); // null when never created: closeAll skips it
        specialized.clear();
        Closeables.closeAll(all);
    }
}
