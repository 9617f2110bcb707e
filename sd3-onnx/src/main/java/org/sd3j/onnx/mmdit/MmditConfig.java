package org.sd3j.onnx.mmdit;

import java.util.Set;
import java.util.TreeSet;

import org.sd3j.ModelLoadException;

/**
 * The shape of an SD3-family MMDiT (SPEC §5), inferred from checkpoint tensor shapes as Stability's reference
 * does: depth = x_embedder width / 64, hidden = 64 * depth, heads = depth (head dim 64), QK RMS-norm when
 * {@code ln_k} weights exist, MMDiT-X layers where {@code x_block.attn2.ln_k} exists.
 *
 * @param depth              joint blocks (SD3 Medium 24, SD3.5 Large 38)
 * @param hiddenSize         model width D = 64 * depth
 * @param heads              attention heads (= depth)
 * @param patchSize          patch size (2)
 * @param inChannels         latent channels in (16)
 * @param outChannels        latent channels out (16)
 * @param posEmbedMaxSize    position grid side P (192; 384 for SD3.5 Medium)
 * @param contextDim         text context width (4096)
 * @param pooledDim          pooled text vector width (2048)
 * @param mlpHidden          MLP hidden width (4D)
 * @param qkNorm             RMS-norm of q and k per head (SD3.5)
 * @param selfAttentionLayers MMDiT-X blocks with the extra image self-attention (SD3.5 Medium: 0..12)
 */
public record MmditConfig(int depth, int hiddenSize, int heads, int patchSize, int inChannels, int outChannels,
                          int posEmbedMaxSize, int contextDim, int pooledDim, int mlpHidden, boolean qkNorm,
                          Set<Integer> selfAttentionLayers) {
    /** Sinusoidal timestep embedding width. */
    public static final int FREQUENCY_EMBEDDING = 256;
    /** Epsilon of the LayerNorms and the QK RMS-norms. */
    public static final double NORM_EPS = 1e-6;

    public MmditConfig {
        selfAttentionLayers = Set.copyOf(new TreeSet<>(selfAttentionLayers));
    }

    public int headDim() {
        return hiddenSize / heads;
    }

    /** "SD3", "SD3.5" or "MMDiT-X" with the depth, for logs and metadata. */
    public String variant() {
        String v = !selfAttentionLayers.isEmpty() ? "MMDiT-X" : qkNorm ? "SD3.5 (QK-norm)" : "SD3";
        return v + " depth " + depth;
    }

    /** Infers the configuration from the weights' shapes. */
    public static MmditConfig infer(MmditWeights w) {
        long[] xEmb = w.shape("x_embedder.proj.weight");
        if (xEmb.length != 4 || xEmb[2] != xEmb[3]) {
            throw w.unsupported("x_embedder.proj.weight must be a square conv kernel [D, C, p, p], found "
                    + java.util.Arrays.toString(xEmb));
        }
        if (xEmb[0] % 64 != 0) {
            throw w.unsupported("x_embedder width must be a multiple of 64 (head dim 64), found " + xEmb[0]);
        }
        int hidden = Math.toIntExact(xEmb[0]);
        int depth = hidden / 64;
        int blocks = w.blockCount();
        if (blocks != depth) {
            throw w.unsupported("joint block count must be depth " + depth + " (x_embedder width " + hidden
                    + " / 64), found " + blocks + " blocks");
        }
        int patch = Math.toIntExact(xEmb[2]);
        long[] pos = w.shape("pos_embed");
        long cells = pos.length == 3 ? pos[1] : -1;
        int p = (int) Math.round(Math.sqrt(cells));
        if (pos.length != 3 || pos[0] != 1 || (long) p * p != cells || pos[2] != hidden) {
            throw w.unsupported("pos_embed must be [1, P*P, " + hidden + "], found " + java.util.Arrays.toString(pos));
        }
        long[] finalLinear = w.shape("final_layer.linear.weight");
        int outChannels = Math.toIntExact(finalLinear[0] / ((long) patch * patch));
        Set<Integer> x = new TreeSet<>();
        for (int i = 0; i < depth; i++) {
            if (w.has("joint_blocks." + i + ".x_block.attn2.ln_k.weight")) {
                x.add(i);
            }
        }
        return new MmditConfig(depth, hidden, depth, patch, Math.toIntExact(xEmb[1]), outChannels, p,
                Math.toIntExact(w.shape("context_embedder.weight")[1]),
                Math.toIntExact(w.shape("y_embedder.mlp.0.weight")[1]),
                Math.toIntExact(w.shape("joint_blocks.0.x_block.mlp.fc1.weight")[0]),
                w.has("joint_blocks.0.x_block.attn.ln_k.weight"), x);
    }

    static ModelLoadException unsupported(java.nio.file.Path path, String what) {
        return new ModelLoadException(path, "unsupported MMDiT architecture: " + what);
    }
}
