package org.sd3j;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

import org.sd3j.image.Image;
import org.sd3j.internal.Checks;
import org.sd3j.lora.LoraRequest;
import org.sd3j.model.EncoderRole;
import org.sd3j.sampler.Sampler;
import org.sd3j.sampler.Samplers;
import org.sd3j.schedule.TimeShift;

/**
 * What to generate. Every setting left unset falls back to the pipeline's default. Immutable and thread-safe;
 * {@link #toBuilder()} makes a changed copy.
 *
 * <pre>{@code
 * GenerationRequest request = GenerationRequest.builder("a red fox in the snow")
 *         .negativePrompt("blurry")
 *         .seed(42)
 *         .batchSize(2)
 *         .build();
 * }</pre>
 */
public final class GenerationRequest {
    private final String prompt;
    private final String negativePrompt;
    private final Map<EncoderRole, String> promptOverrides;
    private final Integer width;
    private final Integer height;
    private final Integer steps;
    private final Double guidance;
    private final Long seed;
    private final int batchSize;
    private final Sampler sampler;
    private final TimeShift shift;
    private final Image initImage;
    private final Double strength;
    private final Image mask;
    private final List<LoraRequest> loras;

    private GenerationRequest(Builder b) {
        this.prompt = b.prompt;
        this.negativePrompt = b.negativePrompt;
        this.promptOverrides = Collections.unmodifiableMap(new LinkedHashMap<>(b.promptOverrides));
        this.width = b.width;
        this.height = b.height;
        this.steps = b.steps;
        this.guidance = b.guidance;
        this.seed = b.seed;
        this.batchSize = b.batchSize;
        this.sampler = b.sampler;
        this.shift = b.shift;
        this.initImage = b.initImage;
        this.strength = b.strength;
        this.mask = b.mask;
        this.loras = b.loras == null ? null : List.copyOf(b.loras);
    }

    /** A request for {@code prompt} with every other setting at the pipeline's defaults. */
    public static GenerationRequest of(String prompt) {
        return builder(prompt).build();
    }

    public static Builder builder(String prompt) {
        return new Builder(prompt);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    public String prompt() {
        return prompt;
    }

    /** The negative prompt; empty by default, and an empty one is encoded like any other text. */
    public String negativePrompt() {
        return negativePrompt;
    }

    /** Per-encoder replacements of the prompt (e.g. a longer text for T5). */
    public Map<EncoderRole, String> promptOverrides() {
        return promptOverrides;
    }

    public OptionalInt width() {
        return width == null ? OptionalInt.empty() : OptionalInt.of(width);
    }

    public OptionalInt height() {
        return height == null ? OptionalInt.empty() : OptionalInt.of(height);
    }

    public OptionalInt steps() {
        return steps == null ? OptionalInt.empty() : OptionalInt.of(steps);
    }

    public OptionalDouble guidance() {
        return guidance == null ? OptionalDouble.empty() : OptionalDouble.of(guidance);
    }

    public OptionalLong seed() {
        return seed == null ? OptionalLong.empty() : OptionalLong.of(seed);
    }

    public int batchSize() {
        return batchSize;
    }

    public Optional<Sampler> sampler() {
        return Optional.ofNullable(sampler);
    }

    public Optional<TimeShift> shift() {
        return Optional.ofNullable(shift);
    }

    public Optional<Image> initImage() {
        return Optional.ofNullable(initImage);
    }

    /**
     * img2img strength in (0, 1]: the share of the schedule that is re-run. Defaults to 0.6 for img2img
     * (diffusers' SD3 img2img default) and 1.0 with a mask (diffusers' inpainting default).
     */
    public double strength() {
        if (strength != null) {
            return strength;
        }
        return mask != null ? 1.0 : 0.6;
    }

    /** Inpainting mask, the init image's size: white (1) is repainted, black (0) kept. */
    public Optional<Image> mask() {
        return Optional.ofNullable(mask);
    }

    /**
     * The LoRAs of this generation, replacing the pipeline's ({@link Sd3Pipeline#loras()}); empty when the request
     * leaves them to the pipeline. A present empty list means no LoRA.
     */
    public Optional<List<LoraRequest>> loras() {
        return Optional.ofNullable(loras);
    }

    @Override
    public String toString() {
        // Prompts stay out of toString: it ends up in logs.
        return "GenerationRequest[batch=" + batchSize + ", size=" + width + "x" + height + ", steps=" + steps
                + ", guidance=" + guidance + ", seed=" + seed + ", sampler=" + sampler + ", shift=" + shift
                + (initImage != null ? ", img2img strength=" + strength() : "") + (mask != null ? ", masked" : "")
                + (loras != null ? ", loras=" + loras : "") + "]";
    }

    /** Builds a {@link GenerationRequest}; each setter validates its argument. Not thread-safe. */
    public static final class Builder {
        private String prompt;
        private String negativePrompt = "";
        private final Map<EncoderRole, String> promptOverrides = new LinkedHashMap<>();
        private Integer width;
        private Integer height;
        private Integer steps;
        private Double guidance;
        private Long seed;
        private int batchSize = 1;
        private Sampler sampler;
        private TimeShift shift;
        private Image initImage;
        private Double strength;
        private Image mask;
        private List<LoraRequest> loras;

        private Builder(String prompt) {
            prompt(prompt);
        }

        private Builder(GenerationRequest r) {
            this.prompt = r.prompt;
            this.negativePrompt = r.negativePrompt;
            this.promptOverrides.putAll(r.promptOverrides);
            this.width = r.width;
            this.height = r.height;
            this.steps = r.steps;
            this.guidance = r.guidance;
            this.seed = r.seed;
            this.batchSize = r.batchSize;
            this.sampler = r.sampler;
            this.shift = r.shift;
            this.initImage = r.initImage;
            this.strength = r.strength;
            this.mask = r.mask;
            this.loras = r.loras == null ? null : new ArrayList<>(r.loras);
        }

        public Builder prompt(String prompt) {
            this.prompt = Checks.notNull(prompt, "prompt");
            return this;
        }

        public Builder negativePrompt(String negativePrompt) {
            this.negativePrompt = Checks.notNull(negativePrompt, "negativePrompt");
            return this;
        }

        /** Gives one encoder a different prompt (e.g. a longer, more literal text for T5). */
        public Builder prompt(EncoderRole role, String prompt) {
            Checks.notNull(role, "role");
            promptOverrides.put(role, Checks.notNull(prompt, "prompt for " + role));
            return this;
        }

        /** Image size in pixels; both sides positive multiples of 16 (VAE x8, patch x2). */
        public Builder size(int width, int height) {
            this.width = Checks.multipleOf16(width, "width");
            this.height = Checks.multipleOf16(height, "height");
            return this;
        }

        public Builder steps(int steps) {
            this.steps = Checks.atLeast(steps, 1, "steps");
            return this;
        }

        /** Classifier-free guidance scale; CFG runs only when it is greater than 1. */
        public Builder guidance(double guidance) {
            this.guidance = Checks.finite(guidance, "guidance");
            return this;
        }

        /** Seed of batch item 0; item i uses {@code seed + i}. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder batchSize(int batchSize) {
            this.batchSize = Checks.atLeast(batchSize, 1, "batchSize");
            return this;
        }

        public Builder sampler(Sampler sampler) {
            this.sampler = Checks.notNull(sampler, "sampler");
            return this;
        }

        /** A sampler by name, looked up now through {@link Samplers#forName(String)}. */
        public Builder sampler(String name) {
            this.sampler = Samplers.forName(name);
            return this;
        }

        public Builder shift(double shift) {
            this.shift = TimeShift.of(shift);
            return this;
        }

        public Builder shift(TimeShift shift) {
            this.shift = Checks.notNull(shift, "shift");
            return this;
        }

        /** img2img: start from this image, re-running the last {@code strength} share of the schedule. */
        public Builder initImage(Image image, double strength) {
            this.initImage = Checks.notNull(image, "initImage");
            return strength(strength);
        }

        /** img2img (or inpainting, with {@link #mask(Image)}) from this image at the default strength. */
        public Builder initImage(Image image) {
            this.initImage = Checks.notNull(image, "initImage");
            return this;
        }

        public Builder strength(double strength) {
            if (!(strength > 0 && strength <= 1)) {
                throw Checks.fail("strength", "in (0, 1]", strength);
            }
            this.strength = strength;
            return this;
        }

        /** Inpainting mask (white = repaint); needs an init image of the same size. */
        public Builder mask(Image mask) {
            this.mask = Checks.notNull(mask, "mask");
            return this;
        }

        /**
         * Adds a LoRA to this generation (repeatable): the request's LoRAs replace the pipeline's. They are applied
         * per generation by the denoiser and text encoders ({@link org.sd3j.lora.LoraCapable}); weight 0 leaves the
         * model exactly as it is.
         *
         * @param weight any finite number (1: as trained)
         */
        public Builder lora(Path file, double weight) {
            LoraRequest lora = new LoraRequest(file, weight);
            if (loras == null) {
                loras = new ArrayList<>();
            }
            loras.add(lora);
            return this;
        }

        /** Sets this generation's LoRAs, replacing the pipeline's; an empty list generates without any. */
        public Builder loras(List<LoraRequest> loras) {
            Checks.notNull(loras, "loras");
            List<LoraRequest> copy = new ArrayList<>();
            for (int i = 0; i < loras.size(); i++) {
                copy.add(Checks.notNull(loras.get(i), "loras[" + i + "]"));
            }
            this.loras = copy;
            return this;
        }

        public GenerationRequest build() {
            if (mask != null) {
                if (initImage == null) {
                    throw Checks.fail("initImage", "set when a mask is given", "none");
                }
                if (mask.width() != initImage.width() || mask.height() != initImage.height()) {
                    throw Checks.fail("mask", initImage.width() + "x" + initImage.height()
                            + " to match the init image", mask.width() + "x" + mask.height());
                }
            }
            if (initImage != null && width != null
                    && (initImage.width() != width || initImage.height() != height)) {
                throw Checks.fail("initImage", width + "x" + height + " to match the requested size",
                        initImage.width() + "x" + initImage.height());
            }
            if (strength != null && initImage == null) {
                throw Checks.fail("initImage", "set when a strength is given", "none");
            }
            Objects.requireNonNull(prompt);
            return new GenerationRequest(this);
        }
    }
}
