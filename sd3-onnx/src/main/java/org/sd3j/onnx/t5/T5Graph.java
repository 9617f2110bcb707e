package org.sd3j.onnx.t5;

import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.graph.Value;

/**
 * Emits a T5 v1.1 encoder (as SD3 uses T5-XXL) as an ONNX graph, following Stability's reference
 * {@code other_impls.py} ({@code T5Stack}, {@code T5Block}, {@code T5Attention}, {@code T5LayerNorm},
 * {@code T5DenseGatedActDense}) op for op, in float32 whatever the stored weight type.
 *
 * <p>I/O: {@code input_ids} int64 {@code [B, S]} -> {@code last_hidden_state [B, S, d_model]}. Batch and sequence
 * length are symbolic. No attention mask (SD3 passes none: pad tokens are attended to). Attention has no
 * {@code 1/sqrt(d)} scaling (the reference multiplies k by {@code sqrt(d)} to cancel SDPA's). The relative position
 * bias is computed in the graph from the run-time sequence length with Hugging Face's bidirectional
 * {@code _relative_position_bucket} (float32 log-spaced buckets, as torch computes them) and shared by all blocks.
 *
 * <p>{@link #build(T5Config, T5Weights, boolean)} with {@code intermediates} also outputs {@code hidden_states.0}
 * (embeddings) .. {@code hidden_states.L} (before the final norm), {@code position_bias [1, H, S, S]} and
 * {@code relative_position_bucket [S, S]} (as float), for parity checks and optimum-style exports.
 */
public final class T5Graph {
    public static final String INPUT_IDS = "input_ids";
    public static final String OUTPUT = "last_hidden_state";
    public static final String POSITION_BIAS = "position_bias";
    public static final String BUCKETS = "relative_position_bucket";

    private final T5Config cfg;
    private final T5Weights w;
    private final GraphBuilder g = new GraphBuilder("t5_encoder");
    /** Run-time [B, S], computed once for every Linear. */
    private Value lead;

    private T5Graph(T5Config cfg, T5Weights w) {
        this.cfg = cfg;
        this.w = w;
    }

    /** The encoder graph with the single output {@code last_hidden_state}. */
    public static OnnxGraph build(T5Config cfg, T5Weights weights) {
        return build(cfg, weights, false);
    }

    /** The encoder graph; {@code intermediates} adds every hidden state and the position bias as outputs. */
    public static OnnxGraph build(T5Config cfg, T5Weights weights, boolean intermediates) {
        return new T5Graph(cfg, weights).emit(intermediates);
    }

    /** Name of hidden state {@code i}: 0 = embeddings, i = output of block i-1 (before the final norm). */
    public static String hiddenState(int i) {
        return "hidden_states." + i;
    }

    private OnnxGraph emit(boolean intermediates) {
        int d = cfg.dModel();
        Value ids = g.input(INPUT_IDS, ElementType.INT64, Dim.symbol("batch"), Dim.symbol("sequence"));
        lead = g.shape(ids);

        Value x;
        try (var s = g.scope("embed_tokens")) {
            // Gather rows in the stored type, then widen only those rows (never the whole table).
            Value table = g.weight(w.sourceName(T5Weights.EMBEDDING),
                    w.get(T5Weights.EMBEDDING, cfg.vocabSize(), d));
            x = g.cast(g.gather(table, ids, 0), ElementType.FLOAT);
        }
        if (intermediates) {
            g.output(x, hiddenState(0));
        }

        Value bias;
        try (var s = g.scope("position_bias")) {
            bias = positionBias(g.dimOf(ids, 1), intermediates);
        }
        if (intermediates) {
            g.output(bias, POSITION_BIAS);
        }

        for (int i = 0; i < cfg.layers(); i++) {
            try (var s = g.scope("block." + i)) {
                x = block(x, bias, "encoder.block." + i + ".layer.");
            }
            if (intermediates) {
                g.output(x, hiddenState(i + 1));
            }
        }
        try (var s = g.scope("final_layer_norm")) {
            x = rmsNorm(x, "encoder.final_layer_norm.weight");
        }
        g.output(x, OUTPUT);
        return g.build();
    }

    /**
     * {@code [1, H, S, S]}: the bias table's rows at the bucket of each (query, key) pair, as the reference's
     * {@code compute_bias(S, S)}.
     */
    private Value positionBias(Value seqLen, boolean intermediates) {
        Value positions = g.range(g.int64Scalar(0), seqLen, g.int64Scalar(1));
        // memory_position - context_position: [S, S], row = query, column = key.
        Value relative = g.sub(g.unsqueeze(positions, 0), g.unsqueeze(positions, 1));
        Value buckets = bucket(relative);
        if (intermediates) {
            g.output(g.cast(buckets, ElementType.FLOAT), BUCKETS);
        }
        Value table = g.cast(g.weight(w.sourceName(T5Weights.RELATIVE_BIAS),
                w.get(T5Weights.RELATIVE_BIAS, cfg.numBuckets(), cfg.heads())), ElementType.FLOAT);
        Value values = g.gather(table, buckets, 0); // [S, S, H]
        return g.unsqueeze(g.transpose(values, 2, 0, 1), 0);
    }

    /** Hugging Face's {@code _relative_position_bucket(relative, bidirectional=True)} on an int64 tensor. */
    private Value bucket(Value relative) {
        long half = cfg.numBuckets() / 2;
        long maxExact = half / 2;
        Value offset = g.mul(g.cast(g.greater(relative, g.int64Scalar(0)), ElementType.INT64), g.int64Scalar(half));
        Value distance = g.abs(relative);
        Value isSmall = g.less(distance, g.int64Scalar(maxExact));
        // max_exact + (log(d / max_exact) / log(max_distance / max_exact) * (half - max_exact)).long(), in float32
        // exactly as torch evaluates it (python scalars become float32 operands). Distance 0 gives -inf here,
        // masked by isSmall below; clamp the float first so the int64 cast never sees an infinity.
        Value ratio = g.div(g.cast(distance, ElementType.FLOAT), g.scalar((float) maxExact));
        Value scaled = g.mul(g.div(g.log(ratio), g.scalar((float) Math.log((double) cfg.maxDistance() / maxExact))),
                g.scalar((float) (half - maxExact)));
        scaled = g.max(g.min(scaled, g.scalar((float) half)), g.scalar(0f));
        Value large = g.add(g.int64Scalar(maxExact), g.cast(scaled, ElementType.INT64));
        large = g.min(large, g.int64Scalar(half - 1));
        return g.add(offset, g.where(isSmall, distance, large));
    }

    private Value block(Value x, Value bias, String p) {
        Value h = rmsNorm(x, p + "0.layer_norm.weight");
        x = g.add(x, attention(h, bias, p + "0.SelfAttention."));
        h = rmsNorm(x, p + "1.layer_norm.weight");
        return g.add(x, feedForward(h, p + "1.DenseReluDense."));
    }

    private Value attention(Value x, Value bias, String p) {
        int d = cfg.dModel();
        int inner = cfg.innerDim();
        int heads = cfg.heads();
        int hd = cfg.headDim();
        Value q = heads(linear(x, p + "q.weight", d, inner), heads, hd); // [B, H, S, hd]
        Value k = heads(linear(x, p + "k.weight", d, inner), heads, hd);
        Value v = heads(linear(x, p + "v.weight", d, inner), heads, hd);
        Value scores = g.add(g.matMul(q, g.transpose(k, 0, 1, 3, 2)), bias); // no 1/sqrt(hd) (T5)
        Value out = g.matMul(g.softmax(scores, -1), v); // [B, H, S, hd]
        out = g.reshape(g.transpose(out, 0, 2, 1, 3), 0, 0, inner);
        return linear(out, p + "o.weight", inner, d);
    }

    /** [B, S, H*hd] -> [B, H, S, hd]. */
    private Value heads(Value x, int heads, int hd) {
        return g.transpose(g.reshape(x, 0, 0, heads, hd), 0, 2, 1, 3);
    }

    private Value feedForward(Value x, String p) {
        int d = cfg.dModel();
        int ff = cfg.dFf();
        Value gate = g.gelu(linear(x, p + "wi_0.weight", d, ff), true);
        Value up = linear(x, p + "wi_1.weight", d, ff);
        return linear(g.mul(gate, up), p + "wo.weight", ff, d);
    }

    /** {@code w * (x * rsqrt(mean(x^2) + eps))} in float32 (T5LayerNorm). */
    private Value rmsNorm(Value x, String weight) {
        Value variance = g.reduceMean(g.mul(x, x), true, -1);
        Value normed = g.mul(x, g.reciprocal(g.sqrt(g.add(variance, g.scalar((float) cfg.eps())))));
        return g.mul(weight(weight, cfg.dModel()), normed);
    }

    private Value linear(Value x, String name, long in, long out) {
        return g.linear(x, weight(name, out, in), null, lead);
    }

    /** A weight as float32: cast in the graph when stored as float16. */
    private Value weight(String canonical, long... shape) {
        return g.cast(g.weight(w.sourceName(canonical), w.get(canonical, shape)), ElementType.FLOAT);
    }
}
