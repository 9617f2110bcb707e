package org.sd3j.train.data;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.internal.Checks;
import org.sd3j.model.EncodedText;
import org.sd3j.model.LatentDistribution;
import org.sd3j.model.LatentFormat;
import org.sd3j.model.TextEncoder;
import org.sd3j.tensor.Tensor;

/**
 * What identifies the model a precompute cache was built from, as far as the cache's contents depend on it: the
 * latent format (channels, downscale, scaling, shift), the conditioning layout (slots and widths), which encoders
 * are present, and {@link ProbeSignature}s of every encoder's outputs for {@link #PROBE_PROMPT} and of the VAE's
 * encoding of a fixed probe image ({@link #probeImage}), which tell different weights apart. The name (the model
 * file's or folder's) is recorded for messages: a difference in name alone (a renamed folder) is not a mismatch.
 *
 * <p>Computing one ({@link #of}) runs each encoder on one prompt and the VAE encoder on one
 * {@code 8f x 8f}-pixel image (f the VAE downscale). Immutable and thread-safe.
 *
 * @param name         the model's name
 * @param latentFormat the VAE's latent format
 * @param contextDim   the layout's context width
 * @param slots        the layout's slots in order
 * @param encoders     the roles of the encoders present, in slot order
 * @param probes       output name ({@code clip_l.tokens}, {@code clip_l.pooled}, {@code t5xxl.tokens},
 *                     {@code vae.mean}, {@code vae.logvar}) -> its signature, in that order
 */
public record ModelFingerprint(String name, LatentFormat latentFormat, int contextDim,
                               List<ConditioningLayout.Slot> slots, List<String> encoders,
                               Map<String, ProbeSignature> probes) {
    /** The prompt every encoder encodes for its probe signature. */
    public static final String PROBE_PROMPT = "a photograph of a red fox in the snow, 35mm, golden hour";

    public ModelFingerprint {
        Checks.notNull(name, "name");
        Checks.notNull(latentFormat, "latentFormat");
        Checks.atLeast(contextDim, 1, "contextDim");
        slots = List.copyOf(Checks.notNull(slots, "slots"));
        encoders = List.copyOf(Checks.notNull(encoders, "encoders"));
        probes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(Checks.notNull(probes, "probes")));
    }

    /** Runs the probes on {@code model}'s encoders and VAE. */
    public static ModelFingerprint of(EncodingModel model) {
        Checks.notNull(model, "model");
        Map<String, ProbeSignature> probes = new LinkedHashMap<>();
        List<String> encoders = new ArrayList<>();
        for (ConditioningLayout.Slot slot : model.layout().slots()) {
            Optional<TextEncoder> encoder = model.encoders().stream()
                    .filter(e -> e.role().equals(slot.role())).findFirst();
            if (encoder.isEmpty()) {
                continue;
            }
            String role = slot.role().name();
            encoders.add(role);
            EncodedText out = encoder.get().encode(List.of(PROBE_PROMPT));
            probes.put(role + ".tokens", ProbeSignature.of(out.tokens()));
            out.pooledVector().ifPresent(p -> probes.put(role + ".pooled", ProbeSignature.of(p)));
        }
        LatentFormat format = model.vae().latentFormat();
        LatentDistribution latents = model.vae().encode(probeImage(format));
        probes.put("vae.mean", ProbeSignature.of(latents.mean()));
        probes.put("vae.logvar", ProbeSignature.of(latents.logvar()));
        return new ModelFingerprint(model.name(), format, model.layout().contextDim(), model.layout().slots(),
                encoders, probes);
    }

    /**
     * The VAE probe: {@code [1, 3, 8f, 8f]} in [-1, 1], smooth diagonal waves of a different phase per channel (a
     * pattern every VAE encodes to non-trivial latents).
     */
    public static Tensor probeImage(LatentFormat format) {
        int side = 8 * format.downscale();
        Tensor image = Tensor.zeros(1, 3, side, side);
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < side; y++) {
                for (int x = 0; x < side; x++) {
                    image.set((c * side + y) * side + x, (float) (0.8 * Math.sin(0.31 * x + 0.17 * y + 2.1 * c)));
                }
            }
        }
        return image;
    }

    /**
     * What differs between this fingerprint (a cache's) and {@code model}'s, one line each; empty when the cache
     * fits the model. The name is not compared.
     */
    public List<String> differences(ModelFingerprint model) {
        Checks.notNull(model, "model");
        List<String> out = new ArrayList<>();
        if (!latentFormat.equals(model.latentFormat)) {
            out.add("latent format: cache " + latentFormat + " vs model " + model.latentFormat);
        }
        if (contextDim != model.contextDim) {
            out.add("context width: cache " + contextDim + " vs model " + model.contextDim);
        }
        if (!slots.equals(model.slots)) {
            out.add("conditioning slots: cache " + slots + " vs model " + model.slots);
        }
        if (!encoders.equals(model.encoders)) {
            out.add("text encoders: cache " + encoders + " vs model " + model.encoders);
        }
        for (Map.Entry<String, ProbeSignature> e : probes.entrySet()) {
            ProbeSignature other = model.probes.get(e.getKey());
            if (other == null) {
                continue; // Already reported as a different encoder set.
            }
            e.getValue().mismatch(other).ifPresent(why -> out.add(describe(e.getKey()) + ": " + why));
        }
        return out;
    }

    private static String describe(String probe) {
        return probe.startsWith("vae.")
                ? "VAE " + probe.substring(4) + " of the probe image"
                : probe.substring(0, probe.indexOf('.')) + " " + probe.substring(probe.indexOf('.') + 1)
                + " of the probe prompt";
    }

    /** A short description for logs. */
    @Override
    public String toString() {
        return "ModelFingerprint[" + name + ", " + latentFormat + ", encoders " + encoders + ", probes "
                + probes.keySet() + "]";
    }
}
