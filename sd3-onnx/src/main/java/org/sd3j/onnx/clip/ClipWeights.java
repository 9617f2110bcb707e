package org.sd3j.onnx.clip;

import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import org.sd3j.ModelLoadException;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.WeightData;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.LoadedTensor;
import org.sd3j.onnx.safetensors.TensorInfo;
import org.sd3j.onnx.safetensors.TensorSource;

/**
 * CLIP text-transformer weights under their canonical names: HF transformers naming relative to the
 * {@code CLIPTextModelWithProjection} root ({@code text_model.embeddings.token_embedding.weight},
 * {@code text_model.encoder.layers.N.self_attn.q_proj.weight}, {@code text_model.final_layer_norm.weight},
 * {@code text_projection.weight}), whatever prefix the checkpoint uses:
 * <ul>
 *   <li>{@link Layout#SD3_CHECKPOINT}: single-file SD3 checkpoints, under {@code text_encoders.clip_l.transformer.}
 *       or {@code text_encoders.clip_g.transformer.};</li>
 *   <li>{@link Layout#TRANSFORMERS}: no prefix, as in the standalone {@code clip_l.safetensors} /
 *       {@code clip_g.safetensors} files and diffusers' {@code text_encoder*&#47;model.safetensors}.</li>
 * </ul>
 * Weights are handed out zero-copy in their stored type (F32 or F16; BF16 is widened to F32 on load): graphs
 * cast them to float32. Borrows the source: it must stay open while graphs built from these weights are in use.
 */
public final class ClipWeights {
    /** Checkpoint key layouts. */
    public enum Layout {
        SD3_CHECKPOINT,
        TRANSFORMERS
    }

    public static final String TOKEN_EMBEDDING = "text_model.embeddings.token_embedding.weight";
    public static final String POSITION_EMBEDDING = "text_model.embeddings.position_embedding.weight";
    public static final String FINAL_LAYER_NORM = "text_model.final_layer_norm";
    public static final String PROJECTION = "text_projection.weight";

    private final TensorSource source;
    private final Path origin;
    private final Layout layout;
    private final String prefix;
    private final int layerCount;

    private ClipWeights(TensorSource source, Path origin, Layout layout, String prefix) {
        this.source = source;
        this.origin = origin;
        this.layout = layout;
        this.prefix = prefix;
        int n = 0;
        while (has(layer(n, "self_attn.q_proj.weight"))) {
            n++;
        }
        this.layerCount = n;
    }

    /** The single-file SD3 checkpoint prefix of a role: {@code text_encoders.<role name>.transformer.}. */
    public static String checkpointPrefix(EncoderRole role) {
        return "text_encoders." + role.name() + ".transformer.";
    }

    /** Canonical name of a layer tensor: {@code text_model.encoder.layers.<i>.<rest>}. */
    public static String layer(int i, String rest) {
        return "text_model.encoder.layers." + i + "." + rest;
    }

    /**
     * Finds the {@code role}'s CLIP weights in {@code source}: under the role's SD3 checkpoint prefix, else without
     * a prefix (a standalone or diffusers file).
     *
     * @param origin the checkpoint path, for error messages
     */
    public static ClipWeights of(TensorSource source, Path origin, EncoderRole role) {
        String sd3 = checkpointPrefix(role);
        if (source.find(sd3 + TOKEN_EMBEDDING).isPresent()) {
            return new ClipWeights(source, origin, Layout.SD3_CHECKPOINT, sd3);
        }
        if (source.find(TOKEN_EMBEDDING).isPresent()) {
            return new ClipWeights(source, origin, Layout.TRANSFORMERS, "");
        }
        List<String> others = new ArrayList<>();
        for (String n : source.names()) {
            if (n.endsWith(TOKEN_EMBEDDING)) {
                others.add(n.substring(0, n.length() - TOKEN_EMBEDDING.length()));
            }
        }
        throw new ModelLoadException(origin, "no " + role + " CLIP text encoder found: expected '" + sd3
                + TOKEN_EMBEDDING + "' (SD3 checkpoint) or '" + TOKEN_EMBEDDING + "' (standalone/diffusers file)"
                + (others.isEmpty() ? "; the file has " + source.names().size() + " tensors and no CLIP encoder"
                        : "; the file has CLIP encoders under the prefixes " + others));
    }

    /** Uses the weights under an explicit {@code prefix} (may be empty). */
    public static ClipWeights withPrefix(TensorSource source, Path origin, String prefix) {
        if (source.find(prefix + TOKEN_EMBEDDING).isEmpty()) {
            throw new ModelLoadException(origin, "missing tensor '" + prefix + TOKEN_EMBEDDING
                    + "' (CLIP text encoder under the prefix '" + prefix + "')");
        }
        return new ClipWeights(source, origin, prefix.isEmpty() ? Layout.TRANSFORMERS : Layout.SD3_CHECKPOINT,
                prefix);
    }

    public Layout layout() {
        return layout;
    }

    public String prefix() {
        return prefix;
    }

    public Path origin() {
        return origin;
    }

    /** Encoder layers present (consecutive from 0). */
    public int layerCount() {
        return layerCount;
    }

    public String describeLayout() {
        return layout == Layout.SD3_CHECKPOINT ? "SD3 checkpoint layout with prefix '" + prefix + "'"
                : "transformers CLIP layout without prefix";
    }

    /** Whether any stored weight is float16 (the graph then casts per run; bind the weights as inputs). */
    public boolean storedAsHalf() {
        return source.find(prefix + TOKEN_EMBEDDING).map(i -> i.dtype() == DType.F16).orElse(false)
                || source.find(prefix + layer(0, "mlp.fc1.weight")).map(i -> i.dtype() == DType.F16).orElse(false);
    }

    public boolean has(String canonical) {
        return source.find(sourceName(canonical)).isPresent();
    }

    public long[] shape(String canonical) {
        return info(canonical).shape().clone();
    }

    /** The checkpoint's name of a canonical tensor. */
    public String sourceName(String canonical) {
        return prefix + canonical;
    }

    /** A tensor in its stored type (F32 or F16), checked against {@code expectedShape}; zero-copy. */
    public WeightData get(String canonical, long... expectedShape) {
        String name = sourceName(canonical);
        TensorInfo info = info(canonical);
        if (!Arrays.equals(info.shape(), expectedShape)) {
            throw new ModelLoadException(origin, "tensor '" + name + "' has shape " + Arrays.toString(info.shape())
                    + ", expected " + Arrays.toString(expectedShape) + " (" + describeLayout() + ")");
        }
        LoadedTensor t = source.forInference(name);
        ElementType type = t.dtype() == DType.F16 ? ElementType.FLOAT16 : ElementType.FLOAT;
        return new WeightData(type, t.shape(), t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN));
    }

    ModelLoadException unsupported(String what) {
        return new ModelLoadException(origin, "unsupported CLIP text encoder: " + what + " (" + describeLayout() + ")");
    }

    private TensorInfo info(String canonical) {
        String name = sourceName(canonical);
        Optional<TensorInfo> info = source.find(name);
        if (info.isEmpty()) {
            throw new ModelLoadException(origin, "missing tensor '" + name + "' in the " + describeLayout()
                    + " (the CLIP text encoder's keys are incomplete)");
        }
        return info.get();
    }
}
