package org.sd3j.onnx.clip;

import org.sd3j.ModelLoadException;
import org.sd3j.model.EncoderRole;

/**
 * The shape of a CLIP text transformer (SPEC §3), inferred from checkpoint tensor shapes. What the weights cannot
 * tell comes from the role or the caller: the activation (CLIP-L: quick_gelu, CLIP-G: exact gelu) and the head
 * count (default {@code width / 64}: OpenAI CLIP-L has 12 heads at 768, OpenCLIP bigG 20 at 1280).
 *
 * @param width         hidden size D (CLIP-L 768, bigG 1280)
 * @param layers        transformer layers L (CLIP-L 12, bigG 32)
 * @param heads         attention heads (D divisible by heads)
 * @param intermediate  MLP hidden width
 * @param vocabSize     rows of the token embedding
 * @param maxPositions  rows of the position embedding (77): the longest token sequence
 * @param activation    MLP activation
 * @param hasProjection whether the checkpoint stores {@code text_projection.weight} (identity is used when not,
 *                      as the reference initializes it)
 */
public record ClipConfig(int width, int layers, int heads, int intermediate, int vocabSize, int maxPositions,
                         Activation activation, boolean hasProjection) {
    /** LayerNorm epsilon (torch's default, used by both CLIP towers). */
    public static final double LAYER_NORM_EPS = 1e-5;
    /** Head width of both SD3 CLIP towers. */
    public static final int DEFAULT_HEAD_DIM = 64;

    /** MLP activations of the CLIP towers. */
    public enum Activation {
        /** {@code x * sigmoid(1.702 x)} (OpenAI CLIP, CLIP-L). */
        QUICK_GELU,
        /** Exact erf GELU (OpenCLIP bigG, CLIP-G). */
        GELU;

        /** The activation of a built-in CLIP role: CLIP-L quick_gelu, CLIP-G gelu. */
        public static Activation forRole(EncoderRole role) {
            if (EncoderRole.CLIP_L.equals(role)) {
                return QUICK_GELU;
            }
            if (EncoderRole.CLIP_G.equals(role)) {
                return GELU;
            }
            throw new IllegalArgumentException("role must be clip_l or clip_g to imply an activation, found "
                    + role + ": pass the activation explicitly");
        }
    }

    public ClipConfig {
        if (width <= 0 || layers <= 0 || heads <= 0 || intermediate <= 0 || vocabSize <= 0 || maxPositions <= 0) {
            throw new IllegalArgumentException("dimensions must be >= 1, found width " + width + ", layers " + layers
                    + ", heads " + heads + ", intermediate " + intermediate + ", vocab " + vocabSize
                    + ", positions " + maxPositions);
        }
        if (width % heads != 0) {
            throw new IllegalArgumentException("width must be divisible by heads, found width " + width
                    + " and " + heads + " heads");
        }
        if (activation == null) {
            throw new IllegalArgumentException("activation must not be null");
        }
    }

    public int headDim() {
        return width / heads;
    }

    /** Index of the penultimate hidden state ({@code hidden_states.{L-1}}), SD3's per-token features. */
    public int penultimateIndex() {
        return layers - 1;
    }

    /** Infers the shape with the role's activation and {@code width / 64} heads. */
    public static ClipConfig infer(ClipWeights w, EncoderRole role) {
        return infer(w, Activation.forRole(role), 0);
    }

    /**
     * Infers the shape from the weights.
     *
     * @param heads attention heads, or 0 for {@code width / 64}
     */
    public static ClipConfig infer(ClipWeights w, Activation activation, int heads) {
        long[] tok = w.shape(ClipWeights.TOKEN_EMBEDDING);
        long[] pos = w.shape(ClipWeights.POSITION_EMBEDDING);
        if (tok.length != 2 || pos.length != 2 || tok[1] != pos[1]) {
            throw w.unsupported("token and position embeddings must be [V, D] and [P, D], found "
                    + java.util.Arrays.toString(tok) + " and " + java.util.Arrays.toString(pos));
        }
        int width = Math.toIntExact(tok[1]);
        int layers = w.layerCount();
        if (layers == 0) {
            throw new ModelLoadException(w.origin(), "missing tensor '" + w.sourceName(ClipWeights.layer(0,
                    "self_attn.q_proj.weight")) + "': no CLIP encoder layers in the " + w.describeLayout());
        }
        int h = heads;
        if (h == 0) {
            if (width % DEFAULT_HEAD_DIM != 0) {
                throw w.unsupported("width " + width + " is not a multiple of 64: pass the head count explicitly");
            }
            h = width / DEFAULT_HEAD_DIM;
        }
        if (h < 0 || width % h != 0) {
            throw new IllegalArgumentException("heads must divide the width " + width + ", found " + h);
        }
        long[] fc1 = w.shape(ClipWeights.layer(0, "mlp.fc1.weight"));
        return new ClipConfig(width, layers, h, Math.toIntExact(fc1[0]), Math.toIntExact(tok[0]),
                Math.toIntExact(pos[0]), activation, w.has(ClipWeights.PROJECTION));
    }
}
