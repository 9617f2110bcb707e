package org.sd3j.onnx.lora;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.sd3j.ModelLoadException;
import org.sd3j.internal.Checks;
import org.sd3j.internal.Closeables;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/**
 * Reads a LoRA safetensors file in any layout {@link LoraScan} recognises: first its header (layout, adapted
 * modules, metadata), then {@link #check shape checks} against a model, then the tensors of the adapters a caller
 * wants ({@link #read}). Alphas are resolved per layout: a module's scalar {@code .alpha} tensor (0 means r, as
 * kohya writes it), else for diffusers files the PEFT config in {@code __metadata__} ({@value #ADAPTER_METADATA}),
 * else r. Diffusers' (scale, shift) row order of the 2-chunk adaLN layers is swapped back to the original's.
 *
 * <p>Owns the open file: {@link #close()} releases it (idempotent). Not thread-safe.
 */
public final class LoraFileReader implements AutoCloseable {
    /** The diffusers {@code __metadata__} entry that holds the PEFT config (alphas). */
    public static final String ADAPTER_METADATA = "lora_adapter_metadata";

    private final Path file;
    private final TensorSource source;
    private final LoraScan scan;
    private final Map<LoraComponent, DiffusersAlphas> alphas = new EnumMap<>(LoraComponent.class);

    private LoraFileReader(Path file, TensorSource source, LoraScan scan) {
        this.file = file;
        this.source = source;
        this.scan = scan;
    }

    /**
     * Opens {@code file} and reads its header.
     *
     * @throws ModelLoadException naming the file when it cannot be read or its keys are of no known layout (see
     *                            {@link LoraScan#of})
     */
    public static LoraFileReader open(Path file) {
        Checks.notNull(file, "file");
        TensorSource source = Safetensors.open(file);
        try {
            return new LoraFileReader(file, source, LoraScan.of(source, file));
        } catch (RuntimeException e) {
            throw Closeables.closeAfterFailure(e, source);
        }
    }

    public Path file() {
        return file;
    }

    public LoraKeyStyle style() {
        return scan.style();
    }

    /** The file's {@code __metadata__}. */
    public Map<String, String> metadata() {
        return source.metadata();
    }

    /** The model parts the file adapts. */
    public Set<LoraComponent> components() {
        return scan.components();
    }

    /** Every adapter of the file, in natural order of its module names. */
    public List<LoraModule> modules() {
        return scan.modules();
    }

    /** The adapters of one part. */
    public List<LoraModule> modules(LoraComponent component) {
        return scan.modules(component);
    }

    /**
     * Checks {@code modules}' shapes from the header (see {@link LoraFit}).
     *
     * @param shapes per model part, its Linear weight shapes by canonical name; parts without an entry are checked
     *               for internal consistency only
     */
    public void check(List<LoraModule> modules, Map<LoraComponent, Map<String, long[]>> shapes) {
        LoraFit.check(file, source, modules, shapes);
    }

    /**
     * Reads the tensors of {@code modules} (in that order) as float32.
     *
     * @throws ModelLoadException naming the file for an invalid alpha, or a 2-chunk adaLN adapter of odd height
     */
    public List<LoraTensors> read(List<LoraModule> modules) {
        List<LoraTensors> out = new ArrayList<>();
        for (LoraModule m : modules) {
            Tensor a = source.toFloatTensor(m.aName());
            Tensor b = source.toFloatTensor(m.bName());
            double alpha = alpha(m, a.dim(0));
            if (scan.style() == LoraKeyStyle.DIFFUSERS && m.component() == LoraComponent.MMDIT
                    && MmditModules.scaleShiftSwapped(m.module(), b.dim(0), a.dim(1))) {
                if (b.dim(0) % 2 != 0) {
                    throw new ModelLoadException(file, "invalid LoRA: b must have an even number of rows to swap"
                            + " halves, found " + b);
                }
                b = MmditModules.swapScaleShift(b);
            }
            out.add(new LoraTensors(m, a, b, alpha));
        }
        return out;
    }

    private double alpha(LoraModule m, int rank) {
        if (m.alphaName() != null) {
            double alpha = source.toFloatTensor(m.alphaName()).get(0);
            if (alpha == 0) {
                return rank;
            }
            if (!Double.isFinite(alpha) || alpha < 0) {
                throw new ModelLoadException(file, "LoRA tensor '" + m.alphaName() + "' holds " + alpha
                        + ", expected a finite alpha >= 0");
            }
            return alpha;
        }
        if (scan.style() != LoraKeyStyle.DIFFUSERS) {
            return rank;
        }
        String prefix = switch (m.component()) {
            case MMDIT -> m.fileModule().startsWith("transformer.") ? "transformer." : "base_model.model.";
            case CLIP_L -> "text_encoder.";
            case CLIP_G -> "text_encoder_2.";
        };
        DiffusersAlphas a = alphas.computeIfAbsent(m.component(), c -> DiffusersAlphas.parse(file, metadata(),
                m.component() == LoraComponent.MMDIT ? "transformer." : prefix));
        return a.alphaFor(m.fileModule().substring(prefix.length()), rank);
    }

    @Override
    public void close() {
        source.close();
    }
}
