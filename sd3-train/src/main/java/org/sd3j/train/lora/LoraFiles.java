package org.sd3j.train.lora;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import org.sd3j.ModelLoadException;
import org.sd3j.Sd3Exception;
import org.sd3j.internal.Checks;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/**
 * Reads and writes LoRA adapters as safetensors files in the layouts other tools use ({@link LoraLayout}):
 * <pre>
 * DIFFUSERS  transformer.transformer_blocks.0.attn.to_q.lora_A.weight        [r, D]
 *            transformer.transformer_blocks.0.attn.to_q.lora_B.weight        [D, r]   (to_k, to_v alike)
 *            transformer.transformer_blocks.0.attn.add_q_proj.lora_A.weight  [r, D]   (context stream)
 *            __metadata__: format=pt, lora_adapter_metadata={"transformer.lora_alpha": 4, "transformer.r": 4, ...}
 * KOHYA      lora_unet_joint_blocks_0_x_block_attn_qkv.lora_down.weight      [r, D]
 *            lora_unet_joint_blocks_0_x_block_attn_qkv.lora_up.weight        [3D, r]
 *            lora_unet_joint_blocks_0_x_block_attn_qkv.alpha                 []  (float32)
 * </pre>
 * Adapters are held in canonical form ({@link LoraWeights}: original module keys, fused qkv). Writing diffusers
 * splits a fused qkv adapter into q, k and v adapters (shared A, B's row thirds) and swaps the (shift, scale) row
 * halves of the 2-chunk adaLN layers ({@code norm_out.linear}, the last block's {@code norm1_context.linear}),
 * which diffusers stores as (scale, shift); reading reverses both, fusing q/k/v as {@link LoraWeights} explains.
 * All conversions keep every adapter's delta {@code (alpha/r) B A} exactly. Tensors are written as float32;
 * float16 and bfloat16 files are read too.
 *
 * <p>Files are written atomically (temp file, then moved into place) with the caller's provenance entries added
 * to {@code __metadata__}. Stateless and thread-safe.
 */
public final class LoraFiles {
    private LoraFiles() {
    }

    /**
     * Writes {@code weights} to {@code file} in {@code layout}.
     *
     * @param provenance extra {@code __metadata__} entries (e.g. base model, dataset, steps); may not use the
     *                   layout's own keys ({@code format}, {@code lora_adapter_metadata} for diffusers;
     *                   {@code format}, {@code ss_network_dim}, {@code ss_network_alpha} for kohya)
     * @throws IllegalArgumentException for a null argument, a reserved provenance key, or an adapter that
     *                                  cannot be stored (a qkv output size not divisible by 3)
     * @throws Sd3Exception             if the file cannot be written
     */
    public static void write(Path file, LoraWeights weights, LoraLayout layout, Map<String, String> provenance) {
        Checks.notNull(file, "file");
        Checks.notNull(weights, "weights");
        Checks.notNull(layout, "layout");
        Checks.notNull(provenance, "provenance");
        Set<String> reserved = layout == LoraLayout.DIFFUSERS ? DiffusersLoraFormat.RESERVED_METADATA
                : KohyaLoraFormat.RESERVED_METADATA;
        for (Map.Entry<String, String> e : provenance.entrySet()) {
            Checks.notNull(e.getKey(), "provenance key");
            Checks.notNull(e.getValue(), "provenance['" + e.getKey() + "']");
            if (reserved.contains(e.getKey())) {
                throw new IllegalArgumentException("provenance keys must not be one of the " + layout
                        + " layout's own " + reserved + ", found '" + e.getKey() + "'");
            }
        }
        if (layout == LoraLayout.DIFFUSERS) {
            DiffusersLoraFormat.write(file, weights, provenance);
        } else {
            KohyaLoraFormat.write(file, weights, provenance);
        }
    }

    /**
     * Reads a LoRA file of either layout, checking only its internal consistency.
     *
     * @throws ModelLoadException naming the file for an unreadable file, an unrecognised or mixed key layout
     *                            (the message lists what was recognised), an A without its B, or inconsistent shapes
     */
    public static LoraFile read(Path file) {
        return readChecked(file, null);
    }

    /**
     * Reads a LoRA file of either layout and checks, before reading any tensor data, that it fits a model.
     *
     * @param modelShapes the model's weight shapes by original name (e.g. {@link LinearLayers#of})
     * @throws ModelLoadException as {@link #read(Path)}, and naming the first offending tensor with its expected and
     *                            found shapes when an adapter does not fit the model, or the model weight it needs
     *                            when the model has none
     */
    public static LoraFile read(Path file, Map<String, long[]> modelShapes) {
        return readChecked(file, Checks.notNull(modelShapes, "modelShapes"));
    }

    private static LoraFile readChecked(Path file, Map<String, long[]> modelShapes) {
        Checks.notNull(file, "file");
        try (TensorSource source = Safetensors.open(file)) {
            LayoutScan scan = LayoutScan.of(source, file);
            FitCheck.check(file, source, scan.adapters(), modelShapes);
            LoraWeights weights;
            try {
                weights = scan.layout() == LoraLayout.DIFFUSERS
                        ? DiffusersLoraFormat.read(file, source, scan.adapters())
                        : KohyaLoraFormat.read(file, source, scan.adapters());
            } catch (IllegalArgumentException e) {
                // Whatever the header checks let through and the adapters still refuse is the file's fault.
                throw new ModelLoadException(file, "invalid LoRA: " + e.getMessage(), e);
            }
            return new LoraFile(weights, scan.layout(), source.metadata());
        }
    }

    /** A scalar alpha tensor's value; 0 means r (kohya's convention); negative or non-finite values fail. */
    static double alphaTensor(Path file, TensorSource source, String name, int rank) {
        Tensor t = source.toFloatTensor(name);
        double alpha = t.get(0);
        if (alpha == 0) {
            return rank;
        }
        if (!Double.isFinite(alpha) || alpha < 0) {
            throw new ModelLoadException(file, "LoRA tensor '" + name + "' holds " + alpha
                    + ", expected a finite alpha >= 0");
        }
        return alpha;
    }
}
