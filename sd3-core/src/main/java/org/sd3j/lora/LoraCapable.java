package org.sd3j.lora;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.sd3j.internal.Checks;

/**
 * A model component (a {@link org.sd3j.model.Denoiser} or a {@link org.sd3j.model.TextEncoder}) that applies LoRA
 * adapters per generation without being reloaded: the "switchable" way of applying LoRAs, which
 * {@link org.sd3j.Sd3Pipeline.Builder#lora} and {@link org.sd3j.GenerationRequest.Builder#lora} use. The pipeline
 * asks its denoiser (which must implement this when a generation has LoRAs) and each text encoder that implements
 * it for an adapted view, generates with the views, and checks that every part of the model a file adapts was
 * handled: a file with CLIP-L adapters fails when the CLIP-L encoder cannot apply them, rather than being applied
 * only in part.
 *
 * <p>(Backends may also merge LoRAs into the weights when a model is loaded: no per-step cost, but a reload to
 * change them. That is a loading option of the backend, not this interface.)
 *
 * @param <T> the component type the view has ({@code Denoiser} or {@code TextEncoder})
 */
public interface LoraCapable<T> {
    /** The part name of a denoiser in {@link Applied#parts()}; text encoders use their role's name. */
    String DENOISER = "denoiser";

    /**
     * This component with the adapters that {@code loras} hold for it, each scaled by its weight.
     *
     * @param loras one generation's LoRAs, in order, non-empty, none of weight 0 (the pipeline leaves those out, so
     *              that weight 0 is exactly the model without the LoRA)
     * @return the adapted view (this component itself when no file adapts it) and which parts of the model each
     *         file adapts
     * @throws org.sd3j.ModelLoadException for a file that cannot be read, has keys of no known layout or does not
     *                                     fit the model (the message names the first offending tensor)
     */
    Applied<T> withLoras(List<LoraRequest> loras);

    /**
     * What {@link #withLoras} returns.
     *
     * @param component the adapted view: it borrows the component it came from (valid while that one is open),
     *                  holds no resource that needs closing and is as thread-safe as that component
     * @param parts     per LoRA file, the model parts it adapts ({@link #DENOISER}, {@code clip_l}, {@code clip_g},
     *                  ...), read from the file whatever this component applied
     * @param <T>       the component type
     */
    record Applied<T>(T component, Map<Path, Set<String>> parts) {
        public Applied {
            Checks.notNull(component, "component");
            Map<Path, Set<String>> copy = new LinkedHashMap<>();
            Checks.notNull(parts, "parts").forEach((file, p) -> copy.put(Checks.notNull(file, "parts file"),
                    Collections.unmodifiableSet(new LinkedHashSet<>(Checks.notNull(p, "parts of " + file)))));
            parts = Collections.unmodifiableMap(copy);
        }
    }
}
