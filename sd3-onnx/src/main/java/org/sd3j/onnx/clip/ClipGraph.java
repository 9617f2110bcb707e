package org.sd3j.onnx.clip;

import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.LinearAdapter;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.graph.Value;
import org.sd3j.onnx.graph.WeightData;

/**
 * Emits a CLIP text transformer (SPEC §3) as an ONNX graph, following Stability's reference {@code other_impls.py}
 * ({@code CLIPTextModel_}, {@code CLIPEncoder}, {@code CLIPLayer}, {@code CLIPAttention}, {@code CLIPEmbeddings}):
 * token + position embeddings, pre-LN layers under a causal mask ({@code x += attn(ln1(x)); x += mlp(ln2(x))}),
 * final layer norm, pooled vector at {@code argmax(input_ids)} (the first end token) and its text projection.
 *
 * <p>I/O (optimum's names): {@code input_ids} int64 {@code [B, S]} (S at most the position count, 77) ->
 * {@code last_hidden_state [B, S, D]}, {@code hidden_states.0..L} (0: embeddings, i: after layer i),
 * {@code pooler_output [B, D]} (unprojected) and {@code text_embeds [B, D]} (projected). Batch and sequence are
 * symbolic. Computes in float32; float16 weights are cast as they are used.
 */
public final class ClipGraph {
    public static final String INPUT_IDS = "input_ids";
    public static final String LAST_HIDDEN_STATE = "last_hidden_state";
    public static final String POOLER_OUTPUT = "pooler_output";
    public static final String TEXT_EMBEDS = "text_embeds";
    public static final String HIDDEN_STATE_PREFIX = "hidden_states.";

    private final ClipConfig cfg;
    private final ClipWeights w;
    private final GraphBuilder g;
    private final LinearAdapter adapter;
    /** Run-time [B, S] (the shape of the ids), computed once for every Linear. */
    private Value lead;

    private ClipGraph(ClipConfig cfg, ClipWeights w, LinearAdapter adapter) {
        this.cfg = cfg;
        this.w = w;
        this.g = new GraphBuilder("clip_text_model");
        this.adapter = adapter;
    }

    /** The name of hidden state {@code i} (0 = embeddings, i = after layer i). */
    public static String hiddenState(int i) {
        return HIDDEN_STATE_PREFIX + i;
    }

    /** Builds the text-encoder graph. */
    public static OnnxGraph build(ClipConfig cfg, ClipWeights weights) {
        return build(cfg, weights, (g, key, firstRow, x, y, lead) -> y);
    }

    /**
     * Builds the graph with {@code adapter} on the encoder layers' Linears (switchable LoRA); its keys are the
     * checkpoint's weight names without {@code .weight}, e.g.
     * {@code text_encoders.clip_l.transformer.text_model.encoder.layers.0.self_attn.q_proj}.
     */
    public static OnnxGraph build(ClipConfig cfg, ClipWeights weights, LinearAdapter adapter) {
        return new ClipGraph(cfg, weights, adapter).emit();
    }

    private OnnxGraph emit() {
        int d = cfg.width();
        Value ids = g.input(INPUT_IDS, ElementType.INT64, Dim.symbol("batch"), Dim.symbol("sequence"));
        lead = g.shape(ids);
        Value seq = g.dimOf(ids, 1);

        Value x;
        try (var s = g.scope("embeddings")) {
            Value tokens = g.weight(w.sourceName(ClipWeights.TOKEN_EMBEDDING),
                    w.get(ClipWeights.TOKEN_EMBEDDING, cfg.vocabSize(), d));
            // Gather first, then cast: a float16 table is never widened whole.
            Value tok = g.cast(g.gather(tokens, ids, 0), ElementType.FLOAT);
            Value positions = weight(ClipWeights.POSITION_EMBEDDING, cfg.maxPositions(), d);
            Value pos = g.slice(positions, g.int64s(0), g.unsqueeze(seq, 0), g.int64s(0));
            x = g.add(tok, pos);
        }
        g.output(x, hiddenState(0));

        Value mask;
        try (var s = g.scope("causal_mask")) {
            Value one = g.int64Scalar(1);
            Value idx = g.range(g.int64Scalar(0), seq, one);
            // Key position j after query position i is hidden: -inf where j > i, as triu(-inf, 1).
            Value future = g.greater(g.unsqueeze(idx, 0), g.unsqueeze(idx, 1));
            mask = g.where(future, g.scalar(Float.NEGATIVE_INFINITY), g.scalar(0f));
        }
        for (int i = 0; i < cfg.layers(); i++) {
            try (var s = g.scope("layers." + i)) {
                x = layer(i, x, mask);
            }
            g.output(x, hiddenState(i + 1));
        }
        Value last;
        try (var s = g.scope("final_layer_norm")) {
            last = layerNorm(x, ClipWeights.FINAL_LAYER_NORM);
        }
        g.output(last, LAST_HIDDEN_STATE);

        Value pooled;
        try (var s = g.scope("pooler")) {
            // argmax over the ids (first maximum, as torch returns it); ids fit int32 exactly.
            Value eos = g.argMax(g.cast(ids, ElementType.INT32), 1, false);
            Value batch = g.dimOf(ids, 0);
            Value rows = g.range(g.int64Scalar(0), batch, g.int64Scalar(1));
            Value flatIndex = g.add(g.mul(rows, seq), eos);
            Value flat = g.reshape(last, -1, d);
            pooled = g.gather(flat, flatIndex, 0);
        }
        g.output(pooled, POOLER_OUTPUT);
        Value projected;
        try (var s = g.scope("text_projection")) {
            projected = cfg.hasProjection()
                    ? g.gemm(pooled, weight(ClipWeights.PROJECTION, d, d), null, true)
                    : g.add(pooled, g.scalar(0f));
        }
        g.output(projected, TEXT_EMBEDS);
        return g.build();
    }

    /** {@code x += out_proj(attn(ln1(x))); x += fc2(act(fc1(ln2(x))))}. */
    private Value layer(int i, Value x, Value mask) {
        int d = cfg.width();
        String p = ClipWeights.layer(i, "");
        Value h = layerNorm(x, p + "layer_norm1");
        Value q = linear(h, p + "self_attn.q_proj", d, d);
        Value k = linear(h, p + "self_attn.k_proj", d, d);
        Value v = linear(h, p + "self_attn.v_proj", d, d);
        x = g.add(x, linear(attention(q, k, v, mask), p + "self_attn.out_proj", d, d));
        Value m = linear(layerNorm(x, p + "layer_norm2"), p + "mlp.fc1", d, cfg.intermediate());
        m = activation(m);
        return g.add(x, linear(m, p + "mlp.fc2", cfg.intermediate(), d));
    }

    private Value activation(Value x) {
        if (cfg.activation() == ClipConfig.Activation.QUICK_GELU) {
            return g.mul(x, g.sigmoid(g.mul(x, g.scalar(1.702f))));
        }
        return g.gelu(x, false);
    }

    /** Scaled dot-product attention over [B, S, H*d] with the additive causal mask [S, S]. */
    private Value attention(Value q, Value k, Value v, Value mask) {
        int heads = cfg.heads();
        int hd = cfg.headDim();
        Value qh = g.transpose(g.reshape(q, 0, 0, heads, hd), 0, 2, 1, 3);
        Value kt = g.transpose(g.reshape(k, 0, 0, heads, hd), 0, 2, 3, 1);
        Value vh = g.transpose(g.reshape(v, 0, 0, heads, hd), 0, 2, 1, 3);
        Value scores = g.mul(g.matMul(qh, kt), g.scalar((float) (1.0 / Math.sqrt(hd))));
        Value probs = g.softmax(g.add(scores, mask), -1);
        Value out = g.transpose(g.matMul(probs, vh), 0, 2, 1, 3);
        return g.reshape(out, 0, 0, cfg.width());
    }

    private Value layerNorm(Value x, String prefix) {
        int d = cfg.width();
        return g.layerNorm(x, weight(prefix + ".weight", d), weight(prefix + ".bias", d), ClipConfig.LAYER_NORM_EPS);
    }

    private Value linear(Value x, String prefix, long in, long out) {
        Value y = g.linear(x, weight(prefix + ".weight", out, in), weight(prefix + ".bias", out), lead);
        return adapter.adapt(g, w.sourceName(prefix), 0, x, y, lead);
    }

    private Value weight(String canonical, long... shape) {
        WeightData data = w.get(canonical, shape);
        return g.cast(g.weight(w.sourceName(canonical), data), ElementType.FLOAT);
    }
}
