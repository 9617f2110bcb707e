package org.sd3j;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.sd3j.conditioning.PromptEncoder;
import org.sd3j.internal.Checks;
import org.sd3j.lora.LoraCapable;
import org.sd3j.lora.LoraRequest;
import org.sd3j.model.Denoiser;
import org.sd3j.model.TextEncoder;

/**
 * One generation's LoRAs applied to the pipeline's components through {@link LoraCapable}: the denoiser and the
 * prompt encoder to generate with. LoRAs of weight 0 are left out, so that a generation whose LoRAs all have
 * weight 0 uses the pipeline's own components and gives exactly the model's image. Immutable; the views borrow the
 * pipeline's components.
 */
final class AppliedLoras {
    private final Denoiser denoiser;
    private final PromptEncoder promptEncoder;
    private final List<LoraRequest> active;

    private AppliedLoras(Denoiser denoiser, PromptEncoder promptEncoder, List<LoraRequest> active) {
        this.denoiser = denoiser;
        this.promptEncoder = promptEncoder;
        this.active = active;
    }

    /** The LoRAs that take effect: those of non-zero weight, in order. */
    static List<LoraRequest> active(List<LoraRequest> loras) {
        return loras.stream().filter(l -> l.weight() != 0).toList();
    }

    /**
     * Checks that {@code denoiser} can apply {@code loras} (those of non-zero weight) per generation.
     *
     * @throws IllegalArgumentException if it cannot
     */
    static void checkCapable(List<LoraRequest> loras, Denoiser denoiser) {
        List<LoraRequest> active = active(loras);
        if (!active.isEmpty() && !(denoiser instanceof LoraCapable<?>)) {
            throw Checks.fail("denoiser", "a LoraCapable denoiser to apply LoRAs " + files(active),
                    denoiser.getClass().getName());
        }
    }

    /**
     * Applies {@code loras} to the denoiser and to every text encoder that implements {@link LoraCapable}.
     *
     * @throws IllegalArgumentException if the denoiser cannot apply LoRAs
     * @throws Sd3Exception             if a file adapts a part of the model that no component here can adapt, or
     *                                  a component fails to apply a file (e.g. {@link ModelLoadException})
     */
    static AppliedLoras apply(List<LoraRequest> loras, Denoiser denoiser, PromptEncoder prompts) {
        List<LoraRequest> active = active(loras);
        if (active.isEmpty()) {
            return new AppliedLoras(denoiser, prompts, active);
        }
        checkCapable(active, denoiser);
        Map<Path, Set<String>> parts = new LinkedHashMap<>();
        Set<String> handled = new LinkedHashSet<>();
        Denoiser adapted = adapt((LoraCapable<?>) denoiser, LoraCapable.DENOISER, active, Denoiser.class, parts);
        handled.add(LoraCapable.DENOISER);
        List<TextEncoder> encoders = new ArrayList<>();
        Map<String, TextEncoder> incapable = new LinkedHashMap<>();
        for (TextEncoder e : prompts.encoders().values()) {
            String role = e.role().name();
            if (e instanceof LoraCapable<?> capable) {
                encoders.add(adapt(capable, role, active, TextEncoder.class, parts));
                handled.add(role);
            } else {
                encoders.add(e);
                incapable.put(role, e);
            }
        }
        parts.forEach((file, adapts) -> {
            for (String part : adapts) {
                if (!handled.contains(part)) {
                    TextEncoder e = incapable.get(part);
                    throw new Sd3Exception("LoRA " + file + " adapts " + part + ", but " + (e == null
                            ? "the pipeline has no " + part + " encoder"
                            : "the pipeline's " + part + " encoder (" + e.getClass().getName() + ") cannot apply"
                                    + " LoRAs per generation (it does not implement LoraCapable); merge the LoRA"
                                    + " into the model's weights when loading it instead"));
                }
            }
        });
        return new AppliedLoras(adapted, new PromptEncoder(prompts.layout(), encoders), active);
    }

    private static <T> T adapt(LoraCapable<?> capable, String part, List<LoraRequest> loras, Class<T> type,
                               Map<Path, Set<String>> parts) {
        LoraCapable.Applied<?> applied = BackendException.wrap(part, "withLoras", () -> capable.withLoras(loras));
        if (applied == null || !type.isInstance(applied.component())) {
            throw new BackendException(part, "withLoras", "returned " + (applied == null ? "null"
                    : applied.component()) + ", expected a " + type.getSimpleName());
        }
        applied.parts().forEach((file, p) -> parts.computeIfAbsent(file, f -> new LinkedHashSet<>()).addAll(p));
        return type.cast(applied.component());
    }

    private static List<Path> files(List<LoraRequest> loras) {
        return loras.stream().map(LoraRequest::file).toList();
    }

    Denoiser denoiser() {
        return denoiser;
    }

    PromptEncoder promptEncoder() {
        return promptEncoder;
    }

    /** The LoRAs applied (weight not 0), in order. */
    List<LoraRequest> active() {
        return active;
    }
}
