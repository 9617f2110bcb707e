package org.sd3j.onnx.mmdit;

import java.util.Set;

import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.graph.Value;
import org.sd3j.onnx.graph.WeightData;

/**
 * Emits the SD3 MMDiT (SPEC §5) as an ONNX graph, following Stability's reference {@code mmditx.py} op for op.
 *
 * <p>I/O (optimum's names): {@code hidden_states [B, 16, H, W]}, {@code timestep [B]} (sigma * 1000),
 * {@code encoder_hidden_states [B, S, contextDim]}, {@code pooled_projections [B, pooledDim]} ->
 * {@code out_hidden_states [B, 16, H, W]}. Batch, text length and latent size are symbolic: one graph serves all
 * (H and W even, H/2 and W/2 at most the position grid side).
 */
public final class MmditGraph {
    public static final String LATENTS = "hidden_states";
    public static final String TIMESTEP = "timestep";
    public static final String CONTEXT = "encoder_hidden_states";
    public static final String POOLED = "pooled_projections";
    public static final String OUTPUT = "out_hidden_states";

    /** How attention is emitted. */
    public enum Attention {
        /** MatMul-Softmax-MatMul from standard ops (differentiable op by op). */
        PRIMITIVE,
        /** ONNX Runtime's fused {@code com.microsoft.MultiHeadAttention}. */
        FUSED,
        /**
         * {@link #PRIMITIVE}, but the scores as ONNX Runtime's {@code com.microsoft.FusedMatMul} of Q and K with K
         * transposed inside the product (float32 graphs; {@link #PRIMITIVE} otherwise): ONNX Runtime merges an
         * explicit transpose of K with the heads' transpose into a slow strided copy, once in the forward pass and
         * again in every backward product that reads it. For training graphs, which only ONNX Runtime runs.
         */
        TRAINING
    }

    /**
     * Sees every Linear of the checkpoint as it is emitted and may add to its output (LoRA adapters for training
     * and switchable inference); see {@link org.sd3j.onnx.graph.LinearAdapter}. Keys are the checkpoint's weight
     * names without {@code .weight}, e.g. {@code model.diffusion_model.joint_blocks.0.x_block.attn.qkv} (with
     * {@code firstRow} {@code part * D} for q, k, v) or diffusers' {@code transformer_blocks.0.attn.to_k}.
     */
    @FunctionalInterface
    public interface LinearAdapter extends org.sd3j.onnx.graph.LinearAdapter {
        /** Adds nothing. */
        LinearAdapter NONE = (g, key, firstRow, x, y, leadingDims) -> y;
    }

    private final MmditConfig cfg;
    private final MmditWeights w;
    private final GraphBuilder g;
    private final ElementType type;
    private final Attention attention;
    private final LinearAdapter adapter;
    /**
     * Training graphs keep values for the backward pass: LayerNorm's mean and inverse std as outputs, GELU's
     * sigmoid (see {@link GraphBuilder#geluTanhAsSigmoid}).
     */
    private final boolean forTraining;
    private Value ones;
    /** Run-time [B, T] of the image and text token streams, computed once for every Linear. */
    private Value xLead;
    private Value ctxLead;

    private MmditGraph(GraphBuilder g, MmditConfig cfg, MmditWeights w, Attention attention, LinearAdapter adapter,
                       boolean forTraining) {
        this.forTraining = forTraining;
        this.cfg = cfg;
        this.w = w;
        this.type = w.computeType();
        this.attention = attention;
        this.adapter = adapter;
        this.g = g;
    }

    /**
     * Builds the denoiser graph.
     *
     * @param skippedBlocks joint blocks to bypass (skip-layer guidance); empty for the normal model
     */
    public static OnnxGraph build(MmditConfig cfg, MmditWeights weights, Set<Integer> skippedBlocks, Attention attention) {
        return build(cfg, weights, skippedBlocks, attention, LinearAdapter.NONE);
    }

    /**
     * Builds the denoiser graph with {@code adapter} on its Linears (switchable LoRA: the adapter adds its inputs to
     * the graph's).
     */
    public static OnnxGraph build(MmditConfig cfg, MmditWeights weights, Set<Integer> skippedBlocks, Attention attention,
                                  LinearAdapter adapter) {
        GraphBuilder g = new GraphBuilder("mmdit");
        Value latents = g.input(LATENTS, ElementType.FLOAT, Dim.symbol("batch"), Dim.of(cfg.inChannels()),
                Dim.symbol("height"), Dim.symbol("width"));
        Value timestep = g.input(TIMESTEP, ElementType.FLOAT, Dim.symbol("batch"));
        Value context = g.input(CONTEXT, ElementType.FLOAT, Dim.symbol("batch"), Dim.symbol("sequence"),
                Dim.of(cfg.contextDim()));
        Value pooled = g.input(POOLED, ElementType.FLOAT, Dim.symbol("batch"), Dim.of(cfg.pooledDim()));
        Value out = emit(g, cfg, weights, skippedBlocks, attention, adapter, latents, timestep, context, pooled);
        g.output(g.cast(out, ElementType.FLOAT), OUTPUT);
        return g.build();
    }

    /**
     * Emits the MMDiT into {@code g} over the given inputs (any float type; cast to the weights' compute type) and
     * returns the velocity {@code [B, 16, H, W]} in the compute type: for graphs that add to it, such as training
     * steps (a loss and its gradients) with LoRA adapters on the Linears.
     *
     * @param timestep {@code [B]} sigma * 1000
     */
    public static Value emit(GraphBuilder g, MmditConfig cfg, MmditWeights weights, Set<Integer> skippedBlocks,
                             Attention attention, LinearAdapter adapter, Value latents, Value timestep, Value context,
                             Value pooled) {
        return emit(g, cfg, weights, skippedBlocks, attention, adapter, false, latents, timestep, context, pooled);
    }

    /**
     * {@link #emit(GraphBuilder, MmditConfig, MmditWeights, Set, Attention, LinearAdapter, Value, Value, Value,
     * Value)}, for training graphs when {@code forTraining}: values the backward pass reuses are kept instead of
     * fused away (every LayerNorm also outputs its mean and inverse standard deviation; GELU is spelled out as
     * {@code x * sigmoid(..)}, see {@link GraphBuilder#geluTanhAsSigmoid}). Same values either way.
     */
    public static Value emit(GraphBuilder g, MmditConfig cfg, MmditWeights weights, Set<Integer> skippedBlocks,
                             Attention attention, LinearAdapter adapter, boolean forTraining, Value latents,
                             Value timestep, Value context, Value pooled) {
        for (int b : skippedBlocks) {
            if (b < 0 || b >= cfg.depth()) {
                throw new IllegalArgumentException("skippedBlocks must be in [0, " + cfg.depth() + "), found " + b);
            }
        }
        return new MmditGraph(g, cfg, weights, attention, adapter, forTraining).emit(skippedBlocks, latents,
                timestep, context, pooled);
    }

    private Value emit(Set<Integer> skipped, Value latents, Value timestep, Value context, Value pooled) {
        int d = cfg.hiddenSize();
        ones = g.constant(type, filled(d, 1f), d);

        Value x;
        Value h;
        Value wd;
        try (var s = g.scope("x_embedder")) {
            x = patchEmbedding(latents);
            int p = cfg.patchSize();
            h = g.div(g.dimOf(latents, 2), g.int64Scalar(p));
            wd = g.div(g.dimOf(latents, 3), g.int64Scalar(p));
        }
        try (var s = g.scope("pos_embed")) {
            x = g.add(x, croppedPositions(h, wd));
        }
        Value c;
        try (var s = g.scope("t_embedder")) {
            c = mlp2(timestepEmbedding(timestep), "t_embedder.mlp", MmditConfig.FREQUENCY_EMBEDDING);
        }
        try (var s = g.scope("y_embedder")) {
            c = g.add(c, mlp2(g.cast(pooled, type), "y_embedder.mlp", cfg.pooledDim()));
        }
        Value ctx;
        try (var s = g.scope("context_embedder")) {
            ctxLead = g.slice(g.shape(context), g.int64s(0), g.int64s(2), g.int64s(0));
            ctx = linear(g.cast(context, type), "context_embedder", cfg.contextDim(), d, ctxLead);
        }
        Value sc = g.silu(c);
        for (int i = 0; i < cfg.depth(); i++) {
            if (skipped.contains(i)) {
                continue;
            }
            try (var s = g.scope("joint_blocks." + i)) {
                Value[] out = jointBlock(i, ctx, x, sc);
                ctx = out[0];
                x = out[1];
            }
        }
        Value out;
        try (var s = g.scope("final_layer")) {
            Value[] mod = modulation(sc, "final_layer.adaLN_modulation.1", 2);
            Value shift = mod[0];
            Value scale = mod[1];
            if (w.scaleShiftSwapped("final_layer.adaLN_modulation.1")) {
                shift = mod[1];
                scale = mod[0];
            }
            Value y = modulate(layerNorm(x), shift, scale);
            int p = cfg.patchSize();
            y = linear(y, "final_layer.linear", d, p * p * cfg.outChannels(), xLead);
            out = unpatchify(y, h, wd, latents);
        }
        return out;
    }

    /**
     * The patch embedding {@code Conv2d(C, D, kernel = stride = p)} as patchify + Linear: {@code [B, C, H, W] ->
     * [B, C, h, p, w, p] -> [B, h, w, C, p, p] -> [B, h*w, C*p*p]} times the conv kernel read as a
     * {@code [D, C*p*p]} matrix (the same bytes). Identical arithmetic to the convolution, and ONNX Runtime's Conv
     * kernel cannot take a weight bound at session creation (it reads the external file instead).
     */
    private Value patchEmbedding(Value latents) {
        int d = cfg.hiddenSize();
        int c = cfg.inChannels();
        int p = cfg.patchSize();
        Value hp = g.div(g.dimOf(latents, 2), g.int64Scalar(p));
        Value wp = g.div(g.dimOf(latents, 3), g.int64Scalar(p));
        Value six = g.reshapeTo(g.cast(latents, type), g.concat(0, g.int64s(0, c), g.unsqueeze(hp, 0), g.int64s(p),
                g.unsqueeze(wp, 0), g.int64s(p)), null);
        Value patches = g.reshape(g.transpose(six, 0, 2, 4, 1, 3, 5), 0, -1, (long) c * p * p);
        xLead = g.slice(g.shape(patches), g.int64s(0), g.int64s(2), g.int64s(0));
        WeightData kernel = w.get("x_embedder.proj.weight", d, c, p, p);
        WeightData matrix = new WeightData(kernel.type(), new long[] {d, (long) c * p * p}, kernel.data());
        Value weight = bind(w.sourceName("x_embedder.proj.weight"), matrix);
        Value y = g.linear(patches, weight, weight("x_embedder.proj.bias", d), xLead);
        return adapter.adapt(g, w.keyOf("x_embedder.proj.weight"), 0, patches, y, xLead);
    }

    /** {@code [B, L, p*p*C]} -> {@code [B, C, h*p, w*p]} ("nhwpqc -> nchpwq"). */
    private Value unpatchify(Value y, Value h, Value wd, Value latents) {
        int p = cfg.patchSize();
        Value shape6 = g.concat(0, g.int64s(0), g.unsqueeze(h, 0), g.unsqueeze(wd, 0),
                g.int64s(p, p, cfg.outChannels()));
        Value six = g.reshapeTo(y, shape6, null);
        Value t = g.transpose(six, 0, 5, 1, 3, 2, 4);
        Value shape4 = g.concat(0, g.int64s(0, cfg.outChannels()), g.unsqueeze(g.dimOf(latents, 2), 0),
                g.unsqueeze(g.dimOf(latents, 3), 0));
        return g.reshapeTo(t, shape4, java.util.List.of(Dim.symbol("batch"), Dim.of(cfg.outChannels()),
                Dim.symbol("height"), Dim.symbol("width")));
    }

    /**
     * The central {@code h x w} crop of the {@code P x P} position grid, flattened row-major: rows
     * {@code [top, top+h)}, cols {@code [left, left+w)} with {@code top = (P-h)/2}, as one Slice of the weight seen
     * as {@code [1, P, P, D]} (no copy of the grid; a training step's gradient of it is then a Pad, not a scatter).
     */
    private Value croppedPositions(Value h, Value wd) {
        int p = cfg.posEmbedMaxSize();
        int d = cfg.hiddenSize();
        Value grid = g.int64Scalar(p);
        Value two = g.int64Scalar(2);
        Value top = g.div(g.sub(grid, h), two);
        Value left = g.div(g.sub(grid, wd), two);
        Value starts = g.concat(0, g.unsqueeze(top, 0), g.unsqueeze(left, 0));
        Value ends = g.concat(0, g.unsqueeze(g.add(top, h), 0), g.unsqueeze(g.add(left, wd), 0));
        Value pos = weight("pos_embed", 1, (long) p * p, d);
        Value crop = g.slice(g.reshape(pos, 1, p, p, d), starts, ends, g.int64s(1, 2));
        return g.reshape(crop, 1, -1, d);
    }

    /**
     * [B] timesteps -> [B, 256] = [cos(t*f), sin(t*f)], {@code f_i = exp(-ln(10000) * i / 128)} computed in float32
     * as the reference computes it.
     */
    private Value timestepEmbedding(Value t) {
        int half = MmditConfig.FREQUENCY_EMBEDDING / 2;
        Value freqs = g.constant(TimestepFrequencies.of(half), 1, half);
        Value args = g.mul(g.unsqueeze(t, 1), freqs);
        return g.cast(g.concat(1, g.cos(args), g.sin(args)), type);
    }

    /** Linear -> SiLU -> Linear (the t and y embedders). */
    private Value mlp2(Value in, String prefix, int inDim) {
        int d = cfg.hiddenSize();
        Value hdn = g.silu(linear(in, prefix + ".0", inDim, d, null));
        return linear(hdn, prefix + ".2", d, d, null);
    }

    /** Returns {context (null after a pre-only block), x}. */
    private Value[] jointBlock(int i, Value ctx, Value x, Value sc) {
        String cb = "joint_blocks." + i + ".context_block";
        String xb = "joint_blocks." + i + ".x_block";
        boolean preOnly = i == cfg.depth() - 1;
        boolean selfAttn = cfg.selfAttentionLayers().contains(i);
        int d = cfg.hiddenSize();

        Value[] cm = modulation(sc, cb + ".adaLN_modulation.1", preOnly ? 2 : 6);
        if (preOnly && w.scaleShiftSwapped(cb + ".adaLN_modulation.1")) {
            cm = new Value[] {cm[1], cm[0]};
        }
        Value ctxIn = modulate(layerNorm(ctx), cm[0], cm[1]);
        // A pre-only block's context outputs are dropped, so training graphs leave out its context queries (rows of
        // the attention that only those outputs read): 23% less attention in the last block at 77 text tokens and 256
        // image ones, forward and backward. Inference graphs keep them, so that an exported graph holds every weight
        // of the checkpoint (LoRA merging by initializer name, model descriptions).
        boolean imageQueriesOnly = preOnly && attention == Attention.TRAINING;
        Value[] cqkv = qkv(ctxIn, cb + ".attn", ctxLead, !imageQueriesOnly);

        Value[] xm = modulation(sc, xb + ".adaLN_modulation.1", selfAttn ? 9 : 6);
        Value xNorm = layerNorm(x);
        Value[] xqkv = qkv(modulate(xNorm, xm[0], xm[1]), xb + ".attn", xLead, true);

        // Context tokens first in the joint sequence.
        Value k = g.concat(1, cqkv[1], xqkv[1]);
        Value v = g.concat(1, cqkv[2], xqkv[2]);
        Value xAttn;
        Value ctxOut = null;
        if (imageQueriesOnly) {
            xAttn = attention(xqkv[0], k, v);
        } else {
            Value joint = attention(g.concat(1, cqkv[0], xqkv[0]), k, v);
            Value contextLength = g.unsqueeze(g.dimOf(ctx, 1), 0);
            Value axis = g.int64s(1);
            xAttn = g.slice(joint, contextLength, g.int64s(Long.MAX_VALUE), axis);
            if (!preOnly) {
                Value cAttn = g.slice(joint, g.int64s(0), contextLength, axis);
                ctxOut = postAttention(ctx, cAttn, cm, cb, d, ctxLead);
            }
        }
        Value xOut;
        if (selfAttn) {
            Value[] x2 = qkv(modulate(xNorm, xm[6], xm[7]), xb + ".attn2", xLead, true);
            Value attn2 = attention(x2[0], x2[1], x2[2]);
            xOut = g.add(x, g.mul(xm[2], linear(xAttn, xb + ".attn.proj", d, d, xLead)));
            xOut = g.add(xOut, g.mul(xm[8], linear(attn2, xb + ".attn2.proj", d, d, xLead)));
            xOut = g.add(xOut, g.mul(xm[5], mlp(modulate(layerNorm(xOut), xm[3], xm[4]), xb, xLead)));
        } else {
            xOut = postAttention(x, xAttn, xm, xb, d, xLead);
        }
        return new Value[] {ctxOut, xOut};
    }

    /** {@code x += gate_msa * proj(attn); x += gate_mlp * mlp(modulate(norm2(x), shift_mlp, scale_mlp))}. */
    private Value postAttention(Value x, Value attn, Value[] mod, String block, int d, Value lead) {
        Value out = g.add(x, g.mul(mod[2], linear(attn, block + ".attn.proj", d, d, lead)));
        return g.add(out, g.mul(mod[5], mlp(modulate(layerNorm(out), mod[3], mod[4]), block, lead)));
    }

    private Value mlp(Value x, String block, Value lead) {
        int d = cfg.hiddenSize();
        Value fc1 = linear(x, block + ".mlp.fc1", d, cfg.mlpHidden(), lead);
        Value hdn = forTraining ? g.geluTanhAsSigmoid(fc1) : g.gelu(fc1, true);
        return linear(hdn, block + ".mlp.fc2", cfg.mlpHidden(), d, lead);
    }

    /** q, k, v [B, T, D] (q null unless {@code query}), with the per-head RMS-norm of q and k when the model has it. */
    private Value[] qkv(Value x, String attn, Value lead, boolean query) {
        int d = cfg.hiddenSize();
        Value[] out = new Value[3];
        for (int part = query ? 0 : 1; part < 3; part++) {
            Value wt = bind(w.sourceName(attn + ".qkv.weight") + "#" + "qkv".charAt(part),
                    w.qkv(attn, "weight", part, d));
            Value bs = w.has(attn + ".qkv.bias")
                    ? bind(w.sourceName(attn + ".qkv.bias") + "#" + "qkv".charAt(part), w.qkv(attn, "bias", part, d))
                    : null;
            java.util.Map.Entry<String, Long> key = w.qkvKey(attn, part, d);
            out[part] = adapter.adapt(g, key.getKey(), key.getValue(), x, g.linear(x, wt, bs, lead), lead);
        }
        if (cfg.qkNorm()) {
            if (query) {
                out[0] = rmsNormPerHead(out[0], attn + ".ln_q.weight");
            }
            out[1] = rmsNormPerHead(out[1], attn + ".ln_k.weight");
        }
        return out;
    }

    /** {@code x * rsqrt(mean(x^2) + eps) * weight} over each head's 64 features. */
    private Value rmsNormPerHead(Value x, String weightName) {
        int hd = cfg.headDim();
        Value heads = g.reshape(x, 0, 0, cfg.heads(), hd);
        Value ms = g.reduceMean(g.mul(heads, heads), true, -1);
        Value inv = g.reciprocal(g.sqrt(g.add(ms, g.constant(type, new float[] {(float) MmditConfig.NORM_EPS}))));
        Value normed = g.mul(g.mul(heads, inv), weight(weightName, hd));
        return g.reshape(normed, 0, 0, cfg.hiddenSize());
    }

    /** Scaled dot-product attention over [B, T, H*64] inputs. */
    private Value attention(Value q, Value k, Value v) {
        if (attention == Attention.FUSED) {
            return g.multiHeadAttention(q, k, v, cfg.heads());
        }
        int hd = cfg.headDim();
        Value qh = g.transpose(g.reshape(q, 0, 0, cfg.heads(), hd), 0, 2, 1, 3);
        Value vh = g.transpose(g.reshape(v, 0, 0, cfg.heads(), hd), 0, 2, 1, 3);
        Value scaled = g.mul(qh, g.constant(type, new float[] {(float) (1.0 / Math.sqrt(hd))}));
        Value scores;
        if (attention == Attention.TRAINING && type == ElementType.FLOAT) {
            scores = g.fusedMatMul(scaled, g.transpose(g.reshape(k, 0, 0, cfg.heads(), hd), 0, 2, 1, 3), false, true);
        } else {
            scores = g.matMul(scaled, g.transpose(g.reshape(k, 0, 0, cfg.heads(), hd), 0, 2, 3, 1));
        }
        Value probs = g.softmax(scores, -1);
        Value out = g.transpose(g.matMul(probs, vh), 0, 2, 1, 3);
        return g.reshape(out, 0, 0, cfg.hiddenSize());
    }

    /** SiLU(c) -> Linear(D, n*D) -> n chunks of [B, 1, D]. */
    private Value[] modulation(Value sc, String prefix, int chunks) {
        int d = cfg.hiddenSize();
        Value all = linear(sc, prefix, d, (long) chunks * d, null);
        long[] sizes = new long[chunks];
        java.util.Arrays.fill(sizes, 1);
        // Split as [B, chunks, D] into [B, 1, D] pieces, the shape they broadcast over the tokens with: no Unsqueeze
        // per piece (nor, in a training step, a Squeeze per piece's gradient).
        return g.split(g.reshape(all, 0, chunks, d), 1, sizes);
    }

    /** {@code x * (1 + scale) + shift}, with {@code shift} and {@code scale} {@code [B, 1, D]}. */
    private Value modulate(Value x, Value shift, Value scale) {
        Value onePlus = g.add(scale, g.constant(type, new float[] {1f}));
        return g.add(g.mul(x, onePlus), shift);
    }

    /** LayerNorm over D without affine parameters, eps 1e-6. */
    private Value layerNorm(Value x) {
        // ONNX Runtime's CPU kernel keeps float32 statistics only: float64 graphs (gradient checks) recompute them.
        if (forTraining && type == ElementType.FLOAT) {
            return g.layerNormWithStatistics(x, ones, null, MmditConfig.NORM_EPS)[0];
        }
        return g.layerNorm(x, ones, null, MmditConfig.NORM_EPS);
    }

    /** A Linear layer of the checkpoint; {@code lead} is the token stream's [B, T] for 3-D inputs, null for 2-D. */
    private Value linear(Value x, String prefix, long in, long out, Value lead) {
        Value wt = weight(prefix + ".weight", out, in);
        Value bs = w.has(prefix + ".bias") ? weight(prefix + ".bias", out) : null;
        Value y = lead == null ? g.linear(x, wt, bs) : g.linear(x, wt, bs, lead);
        return adapter.adapt(g, w.keyOf(prefix + ".weight"), 0, x, y, lead);
    }

    private Value weight(String canonical, long... shape) {
        return bind(w.sourceName(canonical), w.get(canonical, shape));
    }

    /** A weight in the compute type: cast in the graph when it is stored narrower (see MmditWeights#keepingStoredType). */
    private Value bind(String name, WeightData data) {
        return g.cast(g.weight(name, data), type);
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }
}
