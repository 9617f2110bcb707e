package org.sd3j;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.conditioning.PromptEncoder;
import org.sd3j.guidance.SkipLayerGuidance;
import org.sd3j.internal.Checks;
import org.sd3j.lora.LoraCapable;
import org.sd3j.lora.LoraRequest;
import org.sd3j.model.BlockSkippingDenoiser;
import org.sd3j.model.Denoiser;
import org.sd3j.model.LatentFormat;
import org.sd3j.model.TextEncoder;
import org.sd3j.model.Vae;
import org.sd3j.sampler.Sampler;
import org.sd3j.sampler.Samplers;
import org.sd3j.schedule.Schedule;
import org.sd3j.schedule.TimeShift;

/**
 * Text-to-image (and img2img / inpainting) with an SD3-class model: text encoders, a flow denoiser, a VAE and
 * a sampler, with defaults for every generation setting.
 *
 * <pre>{@code
 * GenerationResult result = Sd3Pipeline.builder()
 *         .encoders(clipL, clipG, t5)
 *         .denoiser(mmdit)
 *         .vae(vae)
 *         .steps(28).shift(3.0)
 *         .generate("a red fox");
 * }</pre>
 *
 * <p>Immutable, thread-safe and reusable: concurrent {@link #generate} calls are fine when the components
 * accept concurrent calls. The pipeline borrows its components and never closes them; whoever loaded them closes
 * them.
 */
public final class Sd3Pipeline {
    /** diffusers' SD3 defaults. */
    public static final int DEFAULT_STEPS = 28;
    public static final double DEFAULT_GUIDANCE = 7.0;
    public static final int DEFAULT_SIZE = 1024;

    private final PromptEncoder promptEncoder;
    private final Denoiser denoiser;
    private final Vae vae;
    private final LatentFormat latentFormat;
    private final Sampler sampler;
    private final Schedule schedule;
    private final int steps;
    private final TimeShift shift;
    private final double guidance;
    private final int width;
    private final int height;
    private final Long seed;
    private final GenerationListener listener;
    private final SkipLayerGuidance skipLayerGuidance;
    private final String modelName;
    private final GuidanceBatching guidanceBatching;
    private final List<LoraRequest> loras;
    private final List<LoraRequest> mergedLoras;
    /** What the builder was given explicitly (null when derived), so that toBuilder() keeps deriving it. */
    private final LatentFormat configuredLatentFormat;
    private final String configuredModelName;

    private Sd3Pipeline(Builder b) {
        this.promptEncoder = new PromptEncoder(b.layout, b.encoders);
        this.denoiser = b.denoiser;
        this.vae = b.vae;
        this.latentFormat = b.latentFormat != null ? b.latentFormat
                : (b.vae != null ? Checks.notNull(b.vae.latentFormat(), "vae.latentFormat()") : LatentFormat.SD3);
        this.sampler = b.sampler;
        this.schedule = b.schedule;
        this.steps = b.steps;
        this.shift = b.shift;
        this.guidance = b.guidance;
        this.width = b.width;
        this.height = b.height;
        this.seed = b.seed;
        this.listener = b.listener;
        this.skipLayerGuidance = b.skipLayerGuidance;
        this.modelName = b.modelName != null ? b.modelName : defaultModelName(b.denoiser);
        this.guidanceBatching = b.guidanceBatching;
        this.loras = List.copyOf(b.loras);
        this.mergedLoras = List.copyOf(b.mergedLoras);
        this.configuredLatentFormat = b.latentFormat;
        this.configuredModelName = b.modelName;
    }

    /** The denoiser's name, or its class's when it has none (e.g. a mock, whose {@code name()} returns null). */
    private static String defaultModelName(Denoiser denoiser) {
        String name = denoiser.name();
        if (name == null || name.isBlank()) {
            name = denoiser.getClass().getSimpleName();
        }
        return name.isBlank() ? "unknown" : name;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Generates with this pipeline's defaults for everything but the prompt. */
    public GenerationResult generate(String prompt) {
        return generate(GenerationRequest.of(prompt));
    }

    /** Generates on the calling thread; see {@link #newGeneration} for a cancelable handle. */
    public GenerationResult generate(GenerationRequest request) {
        return newGeneration(request).execute();
    }

    /**
     * A single-use handle for {@code request}: {@link Generation#execute()} runs it on the calling thread and
     * {@link Generation#cancel()} stops it from any other.
     */
    public Generation newGeneration(GenerationRequest request) {
        return new Generation(this, Checks.notNull(request, "request"));
    }

    /** A builder holding this pipeline's components and defaults, to derive a changed pipeline. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.encoders = new ArrayList<>(promptEncoder.encoders().values());
        b.layout = promptEncoder.layout();
        b.denoiser = denoiser;
        b.vae = vae;
        // Only what was set explicitly: a derived format or name follows a VAE or denoiser swapped in later.
        b.latentFormat = configuredLatentFormat;
        b.sampler = sampler;
        b.schedule = schedule;
        b.steps = steps;
        b.shift = shift;
        b.guidance = guidance;
        b.width = width;
        b.height = height;
        b.seed = seed;
        b.listener = listener;
        b.skipLayerGuidance = skipLayerGuidance;
        b.modelName = configuredModelName;
        b.guidanceBatching = guidanceBatching;
        b.loras = new ArrayList<>(loras);
        b.mergedLoras = new ArrayList<>(mergedLoras);
        return b;
    }

    PromptEncoder promptEncoder() {
        return promptEncoder;
    }

    Denoiser denoiser() {
        return denoiser;
    }

    Optional<Vae> vae() {
        return Optional.ofNullable(vae);
    }

    public LatentFormat latentFormat() {
        return latentFormat;
    }

    public Sampler sampler() {
        return sampler;
    }

    public Schedule schedule() {
        return schedule;
    }

    public int steps() {
        return steps;
    }

    public TimeShift shift() {
        return shift;
    }

    public double guidance() {
        return guidance;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The default seed; empty when each generation draws a random one. */
    public OptionalLong seed() {
        return seed == null ? OptionalLong.empty() : OptionalLong.of(seed);
    }

    public GenerationListener listener() {
        return listener;
    }

    public Optional<SkipLayerGuidance> skipLayerGuidance() {
        return Optional.ofNullable(skipLayerGuidance);
    }

    /** How classifier-free guidance runs its two halves ({@link GuidanceBatching#BATCHED} by default). */
    public GuidanceBatching guidanceBatching() {
        return guidanceBatching;
    }

    /**
     * The LoRAs every generation applies unless its request names its own ({@link GenerationRequest#loras()}), in
     * order; empty by default.
     */
    public List<LoraRequest> loras() {
        return loras;
    }

    /** LoRAs already merged into the components' weights: recorded in image metadata, never applied again. */
    public List<LoraRequest> mergedLoras() {
        return mergedLoras;
    }

    /** Model name recorded in image metadata. */
    public String modelName() {
        return modelName;
    }

    @Override
    public String toString() {
        return "Sd3Pipeline[model=" + modelName + ", encoders=" + promptEncoder.encoders().keySet() + ", sampler="
                + sampler.name() + ", steps=" + steps + ", shift=" + shift + ", guidance=" + guidance + ", size="
                + width + "x" + height + "]";
    }

    /**
     * Builds an {@link Sd3Pipeline}. Every setter validates its argument at once; {@link #build()} checks the
     * combination. Not thread-safe.
     */
    public static final class Builder {
        private List<TextEncoder> encoders = new ArrayList<>();
        private ConditioningLayout layout = ConditioningLayout.sd3();
        private Denoiser denoiser;
        private Vae vae;
        private LatentFormat latentFormat;
        private Sampler sampler = Samplers.defaultSampler();
        private Schedule schedule = Schedule.flowMatch();
        private int steps = DEFAULT_STEPS;
        private TimeShift shift = TimeShift.of(TimeShift.SD3_DEFAULT);
        private double guidance = DEFAULT_GUIDANCE;
        private int width = DEFAULT_SIZE;
        private int height = DEFAULT_SIZE;
        private Long seed;
        private GenerationListener listener = GenerationListener.NONE;
        private SkipLayerGuidance skipLayerGuidance;
        private String modelName;
        private GuidanceBatching guidanceBatching = GuidanceBatching.BATCHED;
        private List<LoraRequest> loras = new ArrayList<>();
        private List<LoraRequest> mergedLoras = new ArrayList<>();

        private Builder() {
        }

        /** The text encoders, any subset of the layout's roles (missing ones contribute zeros). */
        public Builder encoders(TextEncoder... encoders) {
            Checks.notNull(encoders, "encoders");
            for (int i = 0; i < encoders.length; i++) {
                Checks.notNull(encoders[i], "encoders[" + i + "]");
            }
            this.encoders = new ArrayList<>(Arrays.asList(encoders));
            return this;
        }

        /** The conditioning layout (slot widths and context width); SD3's by default. */
        public Builder layout(ConditioningLayout layout) {
            this.layout = Checks.notNull(layout, "layout");
            return this;
        }

        public Builder denoiser(Denoiser denoiser) {
            this.denoiser = Checks.notNull(denoiser, "denoiser");
            return this;
        }

        /** The VAE; without one, results hold latents only. */
        public Builder vae(Vae vae) {
            this.vae = Checks.notNull(vae, "vae");
            return this;
        }

        /** The latent format, when there is no VAE to take it from (SD3's by default). */
        public Builder latentFormat(LatentFormat latentFormat) {
            this.latentFormat = Checks.notNull(latentFormat, "latentFormat");
            return this;
        }

        public Builder sampler(Sampler sampler) {
            this.sampler = Checks.notNull(sampler, "sampler");
            return this;
        }

        /** A sampler by name through {@link Samplers#forName(String)}: euler, heun, dpmpp_2m, euler_stochastic... */
        public Builder sampler(String name) {
            this.sampler = Samplers.forName(name);
            return this;
        }

        public Builder schedule(Schedule schedule) {
            this.schedule = Checks.notNull(schedule, "schedule");
            return this;
        }

        public Builder steps(int steps) {
            this.steps = Checks.atLeast(steps, 1, "steps");
            return this;
        }

        /** Static time shift (SD3: 3.0 at 1024x1024). */
        public Builder shift(double shift) {
            this.shift = TimeShift.of(shift);
            return this;
        }

        /** Static or dynamic ({@code mu}) time shift. */
        public Builder shift(TimeShift shift) {
            this.shift = Checks.notNull(shift, "shift");
            return this;
        }

        /** Classifier-free guidance scale; CFG runs only above 1. */
        public Builder guidance(double guidance) {
            this.guidance = Checks.finite(guidance, "guidance");
            return this;
        }

        /** Default image size; both sides positive multiples of 16. */
        public Builder size(int width, int height) {
            this.width = Checks.multipleOf16(width, "width");
            this.height = Checks.multipleOf16(height, "height");
            return this;
        }

        /** Default seed (otherwise each generation draws one and reports it in its result). */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder listener(GenerationListener listener) {
            this.listener = Checks.notNull(listener, "listener");
            return this;
        }

        /** Turns on skip-layer guidance; the denoiser must implement {@link BlockSkippingDenoiser}. */
        public Builder skipLayerGuidance(SkipLayerGuidance skipLayerGuidance) {
            this.skipLayerGuidance = Checks.notNull(skipLayerGuidance, "skipLayerGuidance");
            return this;
        }

        /**
         * How classifier-free guidance runs: one batch-2B call ({@link GuidanceBatching#BATCHED}, the default) or
         * two batch-B calls ({@link GuidanceBatching#SEQUENTIAL}: lower peak memory).
         */
        public Builder guidanceBatching(GuidanceBatching guidanceBatching) {
            this.guidanceBatching = Checks.notNull(guidanceBatching, "guidanceBatching");
            return this;
        }

        /**
         * Adds a LoRA that every generation applies (repeatable; a request's own LoRAs replace these). The denoiser
         * and text encoders apply it per generation without reloading anything, so the denoiser must implement
         * {@link LoraCapable} (sd3-onnx's checkpoint-built {@code MmditDenoiser} does); the file is read when a
         * generation starts. Weight 0 gives exactly the images of the model without it.
         *
         * @param weight any finite number (1: as trained)
         */
        public Builder lora(Path file, double weight) {
            loras.add(new LoraRequest(file, weight));
            return this;
        }

        /** Sets the LoRAs every generation applies (see {@link #lora(Path, double)}), replacing those set so far. */
        public Builder loras(List<LoraRequest> loras) {
            this.loras = copy(loras, "loras");
            return this;
        }

        /**
         * LoRAs merged into the components' weights when they were loaded (e.g. by sd3-onnx's
         * {@code Sd3Model.Options.withLora}): only recorded in the images' parameters.
         */
        public Builder mergedLoras(List<LoraRequest> mergedLoras) {
            this.mergedLoras = copy(mergedLoras, "mergedLoras");
            return this;
        }

        private static List<LoraRequest> copy(List<LoraRequest> loras, String name) {
            Checks.notNull(loras, name);
            List<LoraRequest> out = new ArrayList<>();
            for (int i = 0; i < loras.size(); i++) {
                out.add(Checks.notNull(loras.get(i), name + "[" + i + "]"));
            }
            return out;
        }

        /** Model name for image metadata (default: the denoiser's name). */
        public Builder modelName(String modelName) {
            this.modelName = Checks.notNull(modelName, "modelName");
            return this;
        }

        /**
         * @throws IllegalArgumentException when no denoiser is set, encoders don't fit the layout, skip-layer
         *                                  guidance is asked of a denoiser that cannot skip blocks, or LoRAs of a
         *                                  denoiser that cannot apply them
         */
        public Sd3Pipeline build() {
            if (denoiser == null) {
                throw Checks.fail("denoiser", "set", "none");
            }
            if (skipLayerGuidance != null) {
                if (!(denoiser instanceof BlockSkippingDenoiser)) {
                    throw Checks.fail("denoiser", "a BlockSkippingDenoiser for skip-layer guidance",
                            denoiser.getClass().getName());
                }
                int blocks = ((BlockSkippingDenoiser) denoiser).blockCount();
                for (int block : skipLayerGuidance.blocks()) {
                    if (block >= blocks) {
                        throw Checks.fail("skipLayerGuidance blocks", "in [0, " + blocks + ")",
                                skipLayerGuidance.blocks());
                    }
                }
            }
            AppliedLoras.checkCapable(loras, denoiser);
            if (vae != null && latentFormat != null && !latentFormat.equals(vae.latentFormat())) {
                throw Checks.fail("latentFormat", "the VAE's " + vae.latentFormat(), latentFormat);
            }
            return new Sd3Pipeline(this);
        }

        /** Shorthand for {@code build().generate(prompt)}. */
        public GenerationResult generate(String prompt) {
            return build().generate(prompt);
        }

        /** Shorthand for {@code build().generate(request)}. */
        public GenerationResult generate(GenerationRequest request) {
            return build().generate(request);
        }
    }
}
