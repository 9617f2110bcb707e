package org.sd3j.train.lora;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.sd3j.ModelLoadException;
import org.sd3j.Sd3Exception;
import org.sd3j.internal.Checks;
import org.sd3j.onnx.lora.LoraComponent;
import org.sd3j.onnx.lora.LoraFileReader;
import org.sd3j.onnx.lora.LoraModule;
import org.sd3j.onnx.lora.LoraTensors;
import org.sd3j.onnx.lora.MmditModules;

/**
 * Reads and writes the MMDiT's LoRA adapters as safetensors files in the layouts other tools use
 * ({@link LoraLayout}):
 * <pre>
 * DIFFUSERS  transformer.transformer_blocks.0.attn.to_q.lora_A.weight        [r, D]
 *            transformer.transformer_blocks.0.attn.to_q.lora_B.weight        [D, r]   (to_k, to_v alike)
 *            transformer.transformer_blocks.0.attn.add_q_proj.lora_A.weight  [r, D]   (context stream)
 *            __metadata__: format=pt, lora_adapter_metadata={"transformer.lora_alpha": 4, "transformer.r": 4, ...}
 * KOHYA      lora_unet_joint_blocks_0_x_block_attn_qkv.lora_down.weight      [r, D]
 *            lora_unet_joint_blocks_0_x_block_attn_qkv.lora_up.weight        [3D, r]
 *            lora_unet_joint_blocks_0_x_block_attn_qkv.alpha                 []  (float32)
 * COMFYUI    diffusion_model.joint_blocks.0.x_block.attn.qkv.lora_down.weight / .lora_up.weight / .alpha
 * ORIGINAL   model.diffusion_model.joint_blocks.0.x_block.attn.qkv.lora_A.weight / .lora_B.weight / .alpha
 * </pre>
 * Adapters are held in canonical form ({@link LoraWeights}: original module keys, fused qkv). Writing diffusers
 * splits a fused qkv adapter into q, k and v adapters (shared A, B's row thirds) and swaps the (shift, scale) row
 * halves of the 2-chunk adaLN layers ({@code norm_out.linear}, the last block's {@code norm1_context.linear}),
 * which diffusers stores as (scale, shift); reading reverses both, fusing q/k/v as {@link LoraWeights} explains.
 * All conversions keep every adapter's delta {@code (alpha/r) B A} exactly. Tensors are written as float32;
 * float16 and bfloat16 files are read too. Reading is sd3-onnx's {@link LoraFileReader} (which inference uses
 * too), so every file that loads here applies at inference with the same effect.
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
     *                   {@code format}, {@code ss_network_dim}, {@code ss_network_alpha} for kohya; {@code format}
     *                   for the others)
     * @throws IllegalArgumentException for a null argument, a reserved provenance key, or an adapter that
     *                                  cannot be stored (a qkv output size not divisible by 3)
     * @throws Sd3Exception             if the file cannot be written
     */
    public static void write(Path file, LoraWeights weights, LoraLayout layout, Map<String, String> provenance) {
        Checks.notNull(file, "file");
        Checks.notNull(weights, "weights");
        Checks.notNull(layout, "layout");
        Checks.notNull(provenance, "provenance");
        Set<String> reserved = switch (layout) {
            case DIFFUSERS -> DiffusersLoraFormat.RESERVED_METADATA;
            case KOHYA -> FusedLoraFormat.KOHYA_RESERVED_METADATA;
            default -> Set.of("format");
        };
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
            FusedLoraFormat.write(file, weights, layout, provenance);
        }
    }

    /**
     * Reads a LoRA file of any layout, checking only its internal consistency.
     *
     * @throws ModelLoadException naming the file for an unreadable file, an unrecognised or mixed key layout
     *                            (the message lists what was recognised), an A without its B, inconsistent shapes,
     *                            or text-encoder adapters (which {@link LoraWeights} cannot hold)
     */
    public static LoraFile read(Path file) {
        return readChecked(file, null);
    }

    /**
     * Reads a LoRA file of any layout and checks, before reading any tensor data, that it fits a model.
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
        try (LoraFileReader reader = LoraFileReader.open(file)) {
            List<LoraModule> encoders = reader.modules().stream()
                    .filter(m -> m.component() != LoraComponent.MMDIT).toList();
            if (!encoders.isEmpty()) {
                throw new ModelLoadException(file, "holds " + encoders.size() + " text-encoder adapters such as '"
                        + encoders.get(0).aName() + "', which LoraWeights cannot hold: it reads MMDiT adapters"
                        + " only (inference applies both: Sd3Model.Options.withLora, Sd3Pipeline.Builder.lora)");
            }
            reader.check(reader.modules(), modelShapes == null ? Map.of()
                    : Map.of(LoraComponent.MMDIT, modelShapes));
            List<LoraTensors> tensors = reader.read(reader.modules());
            LoraWeights weights;
            try {
                weights = canonical(tensors);
            } catch (IllegalArgumentException e) {
                // Whatever the header checks let through and the adapters still refuse is the file's fault.
                throw new ModelLoadException(file, "invalid LoRA: " + e.getMessage(), e);
            }
            return new LoraFile(weights, LoraLayout.valueOf(reader.style().name()), reader.metadata());
        }
    }

    /** The adapters in canonical form, in model order: q/k/v parts fused as {@link QkvFusion#fuse} explains. */
    private static LoraWeights canonical(List<LoraTensors> tensors) {
        Map<String, LoraAdapter> all = new TreeMap<>(MmditModules.MODEL_ORDER);
        Map<String, LoraAdapter[]> sliced = new LinkedHashMap<>();
        for (LoraTensors t : tensors) {
            LoraAdapter adapter = new LoraAdapter(t.a(), t.b(), t.alpha());
            if (t.module().isSlice()) {
                sliced.computeIfAbsent(t.module().module(), k -> new LoraAdapter[3])[t.module().part()] = adapter;
            } else {
                all.put(t.module().module(), adapter);
            }
        }
        sliced.forEach((original, parts) -> {
            int rows = 0;
            for (LoraAdapter p : parts) {
                rows = p != null ? p.outFeatures() : rows;
            }
            all.put(original, QkvFusion.fuse(parts, rows));
        });
        return LoraWeights.of(all);
    }
}
