package org.sd3j.onnx.t5;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

import org.sd3j.internal.Closeables;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The T5 encoder of SD3 ({@link EncoderRole#T5}) built from a checkpoint (a single-file SD3 checkpoint with
 * {@code text_encoders.t5xxl.transformer.*}, or a standalone {@code t5xxl_fp16.safetensors}) as an ONNX graph run
 * with ONNX Runtime. Weights stay memory-mapped: float32 ones are bound zero-copy as initializers; float16 ones
 * (T5-XXL fp16 is about 9.5 GB) stay float16 and are fed as run-time inputs that the graph casts as it uses them,
 * so no float32 copy of the model is ever made.
 *
 * <p>{@link #encodeIds(long[][])} encodes already-tokenized prompts; {@link #encode(List)} needs the tokenizer
 * given to {@link #load(Path, OnnxOptions, Function)} (prompt -> ids with EOS and padding applied).
 *
 * <p>Owns the checkpoint mapping and its session: {@link #close()} releases them (idempotent). Thread-safe.
 */
public final class OnnxT5Encoder implements TextEncoder, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxT5Encoder.class);

    private final String name;
    private final TensorSource source;
    private final T5Weights weights;
    private final T5Config config;
    private final GraphSession session;
    private final Function<String, long[]> tokenizer;
    private volatile boolean closed;

    private OnnxT5Encoder(String name, TensorSource source, T5Weights weights, T5Config config,
                          OnnxOptions sessionConfig, Function<String, long[]> tokenizer) {
        this.name = name;
        this.source = source;
        this.weights = weights;
        this.config = config;
        this.tokenizer = tokenizer;
        this.session = GraphSession.create(T5Graph.build(config, weights), sessionConfig, binding(weights));
    }

    private static GraphSession.WeightBinding binding(T5Weights weights) {
        // ORT 1.23 fails to initialize a session that must cast float16 initializers bound with addInitializer.
        return weights.hasHalfWeights() ? GraphSession.WeightBinding.INPUTS : GraphSession.WeightBinding.INITIALIZERS;
    }

    /** Loads without a tokenizer: only {@link #encodeIds(long[][])} works. */
    public static OnnxT5Encoder load(Path checkpoint, OnnxOptions sessionConfig) {
        return load(checkpoint, sessionConfig, null);
    }

    /**
     * Loads the T5 encoder of {@code checkpoint}.
     *
     * @param tokenizer prompt -> token ids (EOS appended, padded as wanted; every prompt of a batch the same
     *                  length), or null to allow only {@link #encodeIds(long[][])}
     */
    public static OnnxT5Encoder load(Path checkpoint, OnnxOptions sessionConfig, Function<String, long[]> tokenizer) {
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(sessionConfig, "sessionConfig");
        long start = System.nanoTime();
        TensorSource source = Safetensors.open(checkpoint);
        try {
            T5Weights weights = T5Weights.of(source, checkpoint);
            T5Config config = T5Config.infer(weights);
            OnnxT5Encoder e = new OnnxT5Encoder(checkpoint.getFileName().toString(), source, weights, config,
                    sessionConfig, tokenizer);
            LOG.info("Loaded T5 encoder ({}) from {} ({}) in {} ms", config, checkpoint, weights.describeLayout(),
                    (System.nanoTime() - start) / 1_000_000);
            return e;
        } catch (RuntimeException e) {
            throw Closeables.closeAfterFailure(e, source);
        }
    }

    public T5Config config() {
        return config;
    }

    /** The encoder graph (for conversion to {@code model.onnx}). */
    public OnnxGraph graph() {
        return T5Graph.build(config, weights);
    }

    @Override
    public EncoderRole role() {
        return EncoderRole.T5;
    }

    @Override
    public EncodedText encode(List<String> prompts) {
        Objects.requireNonNull(prompts, "prompts");
        if (tokenizer == null) {
            throw new IllegalStateException("T5 encoder " + name + " has no tokenizer: load it with one"
                    + " (OnnxT5Encoder.load(checkpoint, config, tokenizer)) or call encodeIds with token ids");
        }
        long[][] ids = new long[prompts.size()][];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = tokenizer.apply(Objects.requireNonNull(prompts.get(i), "prompts[" + i + "]"));
        }
        return encodeIds(ids);
    }

    /**
     * Encodes token ids.
     *
     * @param ids B rows of equal length S >= 1, each id in [0, vocab)
     * @return tokens {@code [B, S, d_model]} (the final-normed last hidden state), no pooled vector
     */
    public EncodedText encodeIds(long[][] ids) {
        ensureOpen();
        Tensor input = toTensor(ids, config.vocabSize());
        Map<String, Tensor> out = session.run(Map.of(T5Graph.INPUT_IDS, input));
        return EncodedText.of(out.get(T5Graph.OUTPUT));
    }

    static Tensor toTensor(long[][] ids, int vocab) {
        Objects.requireNonNull(ids, "ids");
        if (ids.length == 0) {
            throw new IllegalArgumentException("ids must hold at least one row, found 0");
        }
        int s = Objects.requireNonNull(ids[0], "ids[0]").length;
        if (s == 0) {
            throw new IllegalArgumentException("ids rows must hold at least one token, found 0");
        }
        float[] flat = new float[Math.multiplyExact(ids.length, s)];
        for (int b = 0; b < ids.length; b++) {
            long[] row = Objects.requireNonNull(ids[b], "ids[" + b + "]");
            if (row.length != s) {
                throw new IllegalArgumentException("ids rows must all have length " + s + ", found " + row.length
                        + " in row " + b);
            }
            for (int i = 0; i < s; i++) {
                if (row[i] < 0 || row[i] >= vocab) {
                    throw new IllegalArgumentException("token ids must be in [0, " + vocab + "), found " + row[i]
                            + " at [" + b + ", " + i + "]");
                }
                flat[b * s + i] = row[i];
            }
        }
        return Tensor.of(flat, ids.length, s);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("T5 encoder " + name + " is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Closeables.closeAll(List.of(session, source));
    }

    @Override
    public String toString() {
        return "OnnxT5Encoder[" + name + ", " + config + "]";
    }
}
