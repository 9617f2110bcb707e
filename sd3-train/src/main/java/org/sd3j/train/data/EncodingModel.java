package org.sd3j.train.data;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.internal.Checks;
import org.sd3j.model.TextEncoder;
import org.sd3j.model.Vae;
import org.sd3j.onnx.model.Sd3Model;

/**
 * The frozen parts of a model that the precompute cache runs: its text encoders, its VAE and its conditioning
 * layout, plus a name for messages. The components are borrowed: whoever made them closes them (e.g. the
 * {@link Sd3Model} they came from), after the cache work is done.
 *
 * @param name     a name for the model, recorded in the cache (e.g. the model folder's name)
 * @param layout   the conditioning slots and widths
 * @param encoders the text encoders present, each with a role of the layout, at most one per role
 * @param vae      the autoencoder (its {@link Vae#latentFormat()} defines the latent space)
 */
public record EncodingModel(String name, ConditioningLayout layout, List<TextEncoder> encoders, Vae vae) {
    public EncodingModel {
        Checks.notNull(name, "name");
        Checks.notNull(layout, "layout");
        Checks.notNull(encoders, "encoders");
        Checks.notNull(vae, "vae");
        encoders = List.copyOf(encoders);
        Set<Object> roles = new HashSet<>();
        for (TextEncoder e : encoders) {
            if (layout.slot(e.role()).isEmpty()) {
                throw Checks.fail("encoder role", "a slot of the layout " + layout, e.role());
            }
            if (!roles.add(e.role())) {
                throw Checks.fail("encoders", "one per role", "two for " + e.role());
            }
        }
    }

    /**
     * The encoders, VAE and layout of a loaded model, named after its file or folder; borrowed from {@code model},
     * which must stay open while they are used.
     *
     * @throws IllegalArgumentException if the model has no VAE
     */
    public static EncodingModel of(Sd3Model model) {
        Checks.notNull(model, "model");
        Path file = model.path().getFileName();
        String name = file == null ? model.path().toString() : file.toString();
        return new EncodingModel(name, model.layout(), model.encoders(), model.vae().orElseThrow(
                () -> Checks.fail("model", "one with a VAE (the cache encodes images to latents)", model)));
    }
}
