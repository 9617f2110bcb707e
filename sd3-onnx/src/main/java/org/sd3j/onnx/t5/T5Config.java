package org.sd3j.onnx.t5;

import org.sd3j.ModelLoadException;

/**
 * Shape of a T5 v1.1 encoder (gated-GELU feed-forward, RMS norm, relative position buckets), as inferred from its
 * weights. T5-XXL: d_model 4096, inner 4096 (64 heads of 64), d_ff 10240, 24 layers, vocabulary 32128.
 *
 * @param dModel       hidden width
 * @param innerDim     attention width (heads * d_kv); equals dModel for T5-XXL
 * @param dFf          feed-forward width
 * @param layers       encoder blocks
 * @param heads        attention heads (columns of the relative attention bias table)
 * @param vocabSize    rows of the token embedding
 * @param numBuckets   relative position buckets (rows of the bias table; 32)
 * @param maxDistance  relative distance beyond which all positions share a bucket (128)
 * @param eps          RMS norm epsilon (1e-6)
 */
public record T5Config(int dModel, int innerDim, int dFf, int layers, int heads, int vocabSize, int numBuckets,
                       int maxDistance, double eps) {
    public static final int MAX_DISTANCE = 128;
    public static final double NORM_EPS = 1e-6;

    public T5Config {
        if (dModel <= 0 || innerDim <= 0 || dFf <= 0 || layers <= 0 || heads <= 0 || vocabSize <= 0) {
            throw new IllegalArgumentException("T5 dimensions must be positive, found " + describe(dModel, innerDim,
                    dFf, layers, heads, vocabSize));
        }
        if (innerDim % heads != 0) {
            throw new IllegalArgumentException("innerDim must be a multiple of heads (" + heads + "), found "
                    + innerDim);
        }
        if (numBuckets < 4 || numBuckets % 2 != 0) {
            throw new IllegalArgumentException("numBuckets must be even and >= 4, found " + numBuckets);
        }
        if (maxDistance <= numBuckets / 4) {
            throw new IllegalArgumentException("maxDistance must exceed numBuckets/4 (" + numBuckets / 4
                    + "), found " + maxDistance);
        }
    }

    /** Per-head width d_kv. */
    public int headDim() {
        return innerDim / heads;
    }

    /** Infers the configuration from the weights' shapes. */
    public static T5Config infer(T5Weights w) {
        long[] bias = w.shape(T5Weights.RELATIVE_BIAS);
        long[] q = w.shape("encoder.block.0.layer.0.SelfAttention.q.weight");
        long[] embed = w.shape(T5Weights.EMBEDDING);
        if (!w.has("encoder.block.0.layer.1.DenseReluDense.wi_0.weight")) {
            throw new ModelLoadException(w.origin(), "unsupported T5 feed-forward: missing '"
                    + w.sourceName("encoder.block.0.layer.1.DenseReluDense.wi_0.weight") + "' (only gated-GELU"
                    + " T5 v1.1 encoders, as SD3 uses, are supported; " + w.describeLayout() + ")");
        }
        long[] wi = w.shape("encoder.block.0.layer.1.DenseReluDense.wi_0.weight");
        if (bias.length != 2 || q.length != 2 || embed.length != 2 || wi.length != 2) {
            throw new ModelLoadException(w.origin(), "T5 weights must be matrices: relative_attention_bias "
                    + java.util.Arrays.toString(bias) + ", q " + java.util.Arrays.toString(q) + ", embedding "
                    + java.util.Arrays.toString(embed));
        }
        int layers = w.blockCount();
        return new T5Config(Math.toIntExact(embed[1]), Math.toIntExact(q[0]), Math.toIntExact(wi[0]), layers,
                Math.toIntExact(bias[1]), Math.toIntExact(embed[0]), Math.toIntExact(bias[0]), MAX_DISTANCE,
                NORM_EPS);
    }

    private static String describe(int dModel, int innerDim, int dFf, int layers, int heads, int vocab) {
        return "d_model " + dModel + ", inner " + innerDim + ", d_ff " + dFf + ", layers " + layers + ", heads "
                + heads + ", vocab " + vocab;
    }

    @Override
    public String toString() {
        return "T5Config[" + describe(dModel, innerDim, dFf, layers, heads, vocabSize) + ", buckets " + numBuckets
                + ", max distance " + maxDistance + "]";
    }
}
