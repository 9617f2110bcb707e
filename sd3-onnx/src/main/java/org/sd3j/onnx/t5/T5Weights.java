package org.sd3j.onnx.t5;

import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import org.sd3j.ModelLoadException;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.WeightData;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.LoadedTensor;
import org.sd3j.onnx.safetensors.TensorInfo;
import org.sd3j.onnx.safetensors.TensorSource;

/**
 * T5 encoder weights under their canonical Hugging Face names ({@code encoder.block.N.layer.0.SelfAttention.q.weight},
 * {@code encoder.final_layer_norm.weight}, {@code encoder.embed_tokens.weight}, ...), found in:
 * <ul>
 *   <li>single-file SD3 checkpoints: prefix {@code text_encoders.t5xxl.transformer.};</li>
 *   <li>standalone files ({@code t5xxl_fp16.safetensors}, a diffusers {@code text_encoder_3/} folder): no prefix.</li>
 * </ul>
 * The token embedding is read from {@code encoder.embed_tokens.weight}, or from the tied {@code shared.weight} when a
 * file stores only that. Weights are handed out in their stored type, zero-copy: float32 and float16 stay as they
 * are in the memory-mapped file (the graph casts float16 to float32 as it uses them); bfloat16 is widened to
 * float32 on load (ONNX Runtime's CPU provider has no bfloat16 kernels). Borrows the source: it must stay open while
 * graphs built from these weights are in use.
 */
public final class T5Weights {
    /** Prefix of the T5 encoder inside single-file SD3 checkpoints. */
    public static final String CHECKPOINT_PREFIX = "text_encoders.t5xxl.transformer.";
    static final String RELATIVE_BIAS = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
    static final String EMBEDDING = "encoder.embed_tokens.weight";
    static final String SHARED = "shared.weight";
    private static final List<String> PREFIXES = List.of(CHECKPOINT_PREFIX, "");

    private final TensorSource source;
    private final Path origin;
    private final String prefix;
    private final int blockCount;

    private T5Weights(TensorSource source, Path origin, String prefix) {
        this.source = source;
        this.origin = origin;
        this.prefix = prefix;
        this.blockCount = countBlocks();
    }

    /** Finds the T5 encoder in {@code source}; {@code origin} names the checkpoint in error messages. */
    public static T5Weights of(TensorSource source, Path origin) {
        for (String p : PREFIXES) {
            if (source.find(p + RELATIVE_BIAS).isPresent()) {
                return new T5Weights(source, origin, p);
            }
        }
        throw new ModelLoadException(origin, "no T5 encoder weights found: expected '" + CHECKPOINT_PREFIX
                + RELATIVE_BIAS + "' (SD3 checkpoint) or '" + RELATIVE_BIAS + "' (standalone T5 file); the file has "
                + source.names().size() + " tensors"
                + (source.names().isEmpty() ? "" : ", e.g. '" + source.names().iterator().next() + "'"));
    }

    /** Whether {@code source} holds a T5 encoder in a known layout. */
    public static boolean isPresent(TensorSource source) {
        return PREFIXES.stream().anyMatch(p -> source.find(p + RELATIVE_BIAS).isPresent());
    }

    public Path origin() {
        return origin;
    }

    public String prefix() {
        return prefix;
    }

    public String describeLayout() {
        return prefix.isEmpty() ? "standalone T5 layout" : "SD3 checkpoint layout with prefix '" + prefix + "'";
    }

    public int blockCount() {
        return blockCount;
    }

    private int countBlocks() {
        int n = 0;
        while (has("encoder.block." + n + ".layer.0.SelfAttention.q.weight")) {
            n++;
        }
        return n;
    }

    /** Whether any weight is stored as float16 (the graph then casts, and weights are bound as run-time inputs). */
    public boolean hasHalfWeights() {
        for (String name : source.names()) {
            if (name.startsWith(prefix) && source.info(name).dtype() == DType.F16) {
                return true;
            }
        }
        return false;
    }

    public boolean has(String canonical) {
        return source.find(sourceName(canonical)).isPresent();
    }

    /** The checkpoint's name for a canonical one (the embedding falls back to {@code shared.weight}). */
    public String sourceName(String canonical) {
        String name = prefix + canonical;
        if (canonical.equals(EMBEDDING) && source.find(name).isEmpty() && source.find(prefix + SHARED).isPresent()) {
            return prefix + SHARED;
        }
        return name;
    }

    public long[] shape(String canonical) {
        return info(canonical).shape().clone();
    }

    /** A whole tensor in its stored type (float32 or float16; bfloat16 widened), checked against its shape. */
    public WeightData get(String canonical, long... expectedShape) {
        String name = sourceName(canonical);
        TensorInfo info = info(canonical);
        if (expectedShape.length > 0 && !Arrays.equals(info.shape(), expectedShape)) {
            throw new ModelLoadException(origin, "tensor '" + name + "' has shape " + Arrays.toString(info.shape())
                    + ", expected " + Arrays.toString(expectedShape) + " (" + describeLayout() + ")");
        }
        LoadedTensor t = source.forInference(name);
        ElementType type = t.dtype() == DType.F16 ? ElementType.FLOAT16 : ElementType.FLOAT;
        return new WeightData(type, t.shape(), t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN));
    }

    private TensorInfo info(String canonical) {
        String name = sourceName(canonical);
        Optional<TensorInfo> info = source.find(name);
        if (info.isEmpty()) {
            throw new ModelLoadException(origin, "missing tensor '" + name + "' in the T5 encoder ("
                    + describeLayout() + ")" + (canonical.equals(EMBEDDING) ? " (nor '" + prefix + SHARED + "')" : ""));
        }
        return info.get();
    }
}
