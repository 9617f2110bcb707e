package org.sd3j.onnx.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.function.Function;
import java.util.function.Supplier;

import org.sd3j.ModelLoadException;
import org.sd3j.Sd3Pipeline;
import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.internal.Checks;
import org.sd3j.internal.Closeables;
import org.sd3j.lora.LoraRequest;
import org.sd3j.model.Denoiser;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.LatentFormat;
import org.sd3j.model.TextEncoder;
import org.sd3j.model.Vae;
import org.sd3j.onnx.clip.ClipConfig;
import org.sd3j.onnx.clip.ClipGraph;
import org.sd3j.onnx.clip.ClipWeights;
import org.sd3j.onnx.clip.OnnxClipEncoder;
import org.sd3j.onnx.convert.CheckpointConverter;
import org.sd3j.onnx.lora.LoraComponent;
import org.sd3j.onnx.lora.LoraFileReader;
import org.sd3j.onnx.lora.MergedLora;
import org.sd3j.onnx.mmdit.MmditDenoiser;
import org.sd3j.onnx.mmdit.OnnxDenoiser;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.runtime.SessionOptionsFactory;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.onnx.t5.OnnxT5Encoder;
import org.sd3j.onnx.t5.T5Config;
import org.sd3j.onnx.t5.T5Graph;
import org.sd3j.onnx.t5.T5Weights;
import org.sd3j.onnx.tokenizer.ClipTokenizer;
import org.sd3j.onnx.tokenizer.PromptTokenizer;
import org.sd3j.onnx.tokenizer.T5Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A whole SD3 model (denoiser, whichever text encoders exist, the VAE) loaded from one of:
 * <ul>
 *   <li>{@link Format#CHECKPOINT}: a single-file SD3 checkpoint (or a sharded index): {@code model.diffusion_model.*}
 *       plus any subset of {@code text_encoders.clip_l.*}, {@code text_encoders.clip_g.*},
 *       {@code text_encoders.t5xxl.*} and {@code first_stage_model.*}; shift 3.0;</li>
 *   <li>{@link Format#DIFFUSERS}: a diffusers folder ({@code transformer/}, {@code text_encoder/} CLIP-L,
 *       {@code text_encoder_2/} CLIP-G, {@code text_encoder_3/} T5, {@code vae/},
 *       {@code scheduler/scheduler_config.json} for the shift);</li>
 *   <li>{@link Format#ONNX}: an optimum-style ONNX folder (SPEC §6; what {@code sd3 convert} writes):
 *       {@code transformer/model.onnx}, {@code text_encoder*\/model.onnx}, {@code vae_decoder/} and
 *       {@code vae_encoder/model.onnx}.</li>
 * </ul>
 * {@link Options#encoderFiles()} names standalone encoder files (ComfyUI's {@code clip_l.safetensors},
 * {@code clip_g.safetensors}, {@code t5xxl_fp16.safetensors}) that replace or add to the source's encoders, e.g.
 * {@code sd3_medium.safetensors} (no T5) plus {@code t5xxl_fp16.safetensors}; low-memory mode included.
 * Tokenizers come from {@link Options#tokenizers()}, else from a folder's {@code tokenizer/}, {@code tokenizer_2/},
 * {@code tokenizer_3/} (an encoder without one can still encode token ids through its own class).
 * A missing encoder is simply absent: generation fills zeros of its slot's shape. An encoder whose weights are only
 * partly there fails with a {@link ModelLoadException} naming the missing tensor.
 *
 * <p>{@link Options#lowMemory()} loads each encoder only while prompts are encoded and closes it before returning,
 * so peak memory is the largest component instead of the sum (each encode call then pays a load).
 *
 * <p>Owns everything it loads: {@link #close()} closes it in reverse order (idempotent). Pipelines from
 * {@link #pipelineBuilder()} borrow the components and must not be used after the model is closed. Thread-safe.
 */
public final class Sd3Model implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Sd3Model.class);
    /** SD3's flow shift, used when the source has no scheduler config. */
    public static final double DEFAULT_SHIFT = SchedulerConfig.DEFAULT_SHIFT;
    private static final int CLIP_TOKENS = 77;
    private static final int T5_TOKENS = 256;

    /** Where the model came from. */
    public enum Format {
        CHECKPOINT,
        DIFFUSERS,
        ONNX
    }

    /**
     * Loading options.
     *
     * @param lowMemory  load each text encoder only for the duration of an encode call
     * @param tokenizers prompt -> token ids per role (padded as the encoder wants: CLIP 77, T5 with EOS); a role
     *                   without one can only encode token ids
     * @param pooled     the CLIP pooled-vector convention (Stability's reference by default)
     * @param clipHeads  attention heads per CLIP role where they are not width / 64 (checkpoints and standalone
     *                   encoder files only)
     * @param encoderFiles standalone encoder weights per role (the files people download for ComfyUI:
     *                   {@code clip_l.safetensors}, {@code clip_g.safetensors}, {@code t5xxl_fp16.safetensors};
     *                   unprefixed transformers names or the SD3 checkpoint prefixes): such a role is loaded from its
     *                   file instead of the model source, which may lack it
     * @param loras      LoRAs merged into the weights at load, in order (see {@link #withLora})
     */
    public record Options(boolean lowMemory, Map<EncoderRole, Function<String, long[]>> tokenizers,
                          OnnxClipEncoder.PooledConvention pooled, Map<EncoderRole, Integer> clipHeads,
                          Map<EncoderRole, Path> encoderFiles, List<LoraRequest> loras) {
        public Options {
            tokenizers = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(tokenizers,
                    "tokenizers")));
            Objects.requireNonNull(pooled, "pooled");
            clipHeads = Map.copyOf(Objects.requireNonNull(clipHeads, "clipHeads"));
            encoderFiles = Map.copyOf(Objects.requireNonNull(encoderFiles, "encoderFiles"));
            loras = List.copyOf(Objects.requireNonNull(loras, "loras"));
        }

        public Options(boolean lowMemory, Map<EncoderRole, Function<String, long[]>> tokenizers,
                       OnnxClipEncoder.PooledConvention pooled, Map<EncoderRole, Integer> clipHeads,
                       Map<EncoderRole, Path> encoderFiles) {
            this(lowMemory, tokenizers, pooled, clipHeads, encoderFiles, List.of());
        }

        public Options(boolean lowMemory, Map<EncoderRole, Function<String, long[]>> tokenizers,
                       OnnxClipEncoder.PooledConvention pooled, Map<EncoderRole, Integer> clipHeads) {
            this(lowMemory, tokenizers, pooled, clipHeads, Map.of());
        }

        public static Options defaults() {
            return new Options(false, Map.of(), OnnxClipEncoder.PooledConvention.REFERENCE, Map.of(), Map.of());
        }

        /**
         * Merges a LoRA into the weights when the model loads (repeatable; applied in order, weights adding up):
         * each adapted weight becomes {@code W + weight * (alpha / r) * B A}, a new buffer that replaces only that
         * weight, the rest staying memory-mapped. The MMDiT's and the CLIP encoders' adapters are applied (any key
         * layout {@link org.sd3j.onnx.lora.LoraKeyStyle} names); weight 0 leaves the model exactly as it is. In an
         * ONNX folder, adapters whose weights cannot be found by name are left out and reported
         * ({@link Sd3Model#mergedLoras()}, and a WARN). To switch LoRAs per generation instead, see
         * {@link Sd3Pipeline.Builder#lora}.
         *
         * @param weight any finite number (1: as trained)
         */
        public Options withLora(Path file, double weight) {
            List<LoraRequest> l = new ArrayList<>(loras);
            l.add(new LoraRequest(file, weight));
            return new Options(lowMemory, tokenizers, pooled, clipHeads, encoderFiles, l);
        }

        public Options withLowMemory(boolean lowMemory) {
            return new Options(lowMemory, tokenizers, pooled, clipHeads, encoderFiles, loras);
        }

        public Options withTokenizer(EncoderRole role, Function<String, long[]> tokenizer) {
            Map<EncoderRole, Function<String, long[]>> m = new LinkedHashMap<>(tokenizers);
            m.put(Objects.requireNonNull(role, "role"), Objects.requireNonNull(tokenizer, "tokenizer"));
            return new Options(lowMemory, m, pooled, clipHeads, encoderFiles, loras);
        }

        public Options withPooled(OnnxClipEncoder.PooledConvention pooled) {
            return new Options(lowMemory, tokenizers, pooled, clipHeads, encoderFiles, loras);
        }

        public Options withClipHeads(EncoderRole role, int heads) {
            if (heads < 1) {
                throw new IllegalArgumentException("heads must be >= 1, found " + heads);
            }
            Map<EncoderRole, Integer> m = new LinkedHashMap<>(clipHeads);
            m.put(Objects.requireNonNull(role, "role"), heads);
            return new Options(lowMemory, tokenizers, pooled, m, encoderFiles, loras);
        }

        /**
         * Loads {@code role}'s encoder from the standalone safetensors {@code file} (e.g. ComfyUI's
         * {@code t5xxl_fp16.safetensors}) instead of the model source, which may lack it.
         */
        public Options withEncoderFile(EncoderRole role, Path file) {
            Objects.requireNonNull(role, "role");
            if (!List.of(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5).contains(role)) {
                throw new IllegalArgumentException("role must be clip_l, clip_g or t5xxl, found " + role);
            }
            Map<EncoderRole, Path> m = new LinkedHashMap<>(encoderFiles);
            m.put(role, Objects.requireNonNull(file, "file"));
            return new Options(lowMemory, tokenizers, pooled, clipHeads, m, loras);
        }
    }

    private final Path path;
    private final Format format;
    private final Denoiser denoiser;
    private final Map<EncoderRole, TextEncoder> encoders;
    private final Vae vae;
    private final ConditioningLayout layout;
    private final double shift;
    private final SchedulerConfig scheduler;
    private final OnnxOptions onnxOptions;
    private final boolean lowMemory;
    private final List<AutoCloseable> owned;
    private final List<LoraRequest> loras;
    private final List<MergedLora> merged;
    private volatile boolean closed;

    private Sd3Model(Path path, Format format, Denoiser denoiser, Map<EncoderRole, TextEncoder> encoders, Vae vae,
                     ConditioningLayout layout, SchedulerConfig scheduler, OnnxOptions onnxOptions, boolean lowMemory,
                     List<AutoCloseable> owned, List<LoraRequest> loras, List<MergedLora> merged) {
        this.loras = List.copyOf(loras);
        this.merged = List.copyOf(merged);
        this.path = path;
        this.format = format;
        this.denoiser = denoiser;
        this.encoders = Collections.unmodifiableMap(encoders);
        this.vae = vae;
        this.layout = layout;
        this.shift = scheduler.shift();
        this.scheduler = scheduler;
        this.onnxOptions = onnxOptions;
        this.lowMemory = lowMemory;
        this.owned = owned;
    }

    /** Loads on the CPU with default options: the plainest way in ({@code Sd3Model.load(Path.of("model"))}). */
    public static Sd3Model load(Path path) {
        return load(path, OnnxOptions.cpu(), Options.defaults());
    }

    public static Sd3Model load(Path path, OnnxOptions sessionConfig) {
        return load(path, sessionConfig, Options.defaults());
    }

    /**
     * Loads a checkpoint file, a diffusers folder or an ONNX folder (see the class comment). An execution provider
     * that cannot be used fails here, before anything is loaded, or (with {@link OnnxOptions.Fallback#CPU}) is
     * replaced by the CPU after one warning; {@link #onnxOptions()} tells which.
     *
     * @throws ModelLoadException               when the model is missing, incomplete or of the wrong shape
     * @throws org.sd3j.onnx.runtime.ProviderUnavailableException when the provider is unavailable and may not fall back
     */
    public static Sd3Model load(Path path, OnnxOptions sessionConfig, Options options) {
        Checks.notNull(path, "path");
        Checks.notNull(sessionConfig, "onnxOptions");
        Checks.notNull(options, "options");
        if (!Files.exists(path)) {
            throw new ModelLoadException(path, "no such file or folder");
        }
        Format format = detect(path);
        sessionConfig = SessionOptionsFactory.resolve(sessionConfig);
        long start = System.nanoTime();
        Loading l = new Loading(path, format, sessionConfig, options);
        try {
            Sd3Model m = l.run();
            LOG.info("Loaded SD3 model from {} ({}, encoders {}, {}VAE, shift {}{}, on {}) in {} ms", path, format,
                    m.encoders.keySet(), m.vae == null ? "no " : "", m.shift, m.lowMemory ? ", low memory" : "",
                    sessionConfig.provider(), (System.nanoTime() - start) / 1_000_000);
            return m;
        } catch (RuntimeException e) {
            Collections.reverse(l.owned);
            try {
                Closeables.closeAll(l.owned);
            } catch (RuntimeException secondary) {
                e.addSuppressed(secondary);
            }
            throw e;
        }
    }

    static Format detect(Path path) {
        if (!Files.isDirectory(path)) {
            return Format.CHECKPOINT;
        }
        if (Files.isRegularFile(path.resolve("transformer").resolve("model.onnx"))) {
            return Format.ONNX;
        }
        if (Files.isDirectory(path.resolve("transformer"))) {
            return Format.DIFFUSERS;
        }
        throw new ModelLoadException(path, "expected a single-file checkpoint, a diffusers folder (transformer/*.safetensors)"
                + " or an ONNX folder (transformer/model.onnx); the folder has neither 'transformer/' nor a file");
    }

    /** One loading attempt; {@link #owned} collects what must be closed if a later step fails. */
    private static final class Loading {
        final Path path;
        final Format format;
        final OnnxOptions config;
        final Options options;
        final List<AutoCloseable> owned = new ArrayList<>();
        /** The LoRAs to merge: those of non-zero weight. */
        final List<LoraRequest> loras;
        final List<MergedLora> merged = new ArrayList<>();

        Loading(Path path, Format format, OnnxOptions config, Options options) {
            this.path = path;
            this.format = format;
            this.config = config;
            this.options = options;
            this.loras = options.loras().stream().filter(l -> l.weight() != 0).toList();
        }

        Sd3Model run() {
            Denoiser denoiser;
            int contextDim;
            int pooledDim;
            SchedulerConfig scheduler = format == Format.CHECKPOINT ? SchedulerConfig.defaults()
                    : SchedulerConfig.read(path);
            if (scheduler.useDynamicShifting()) {
                LOG.warn("{} asks for resolution-dependent (dynamic) shifting; pipelines from this model use the static"
                        + " shift {}. Set .shift(TimeShift.dynamicForTokens(...)) per resolution to shift dynamically",
                        path, scheduler.shift());
            }
            Map<LoraComponent, Path> adapted = adaptedParts();
            if (format == Format.ONNX) {
                OnnxDenoiser d = own(OnnxDenoiser.load(path.resolve("transformer").resolve("model.onnx"), config,
                        loras));
                merged.addAll(d.mergedLoras());
                denoiser = d;
                contextDim = d.contextDim() > 0 ? d.contextDim() : ConditioningLayout.sd3().contextDim();
                pooledDim = d.pooledDim() > 0 ? d.pooledDim() : ConditioningLayout.sd3().pooledDim();
            } else {
                // The attention sd3 convert writes: a checkpoint and its converted folder compute the same images.
                MmditDenoiser d = own(MmditDenoiser.load(format == Format.DIFFUSERS ? path.resolve("transformer") : path,
                        config, CheckpointConverter.ATTENTION, loras));
                merged.addAll(d.mergedLoras());
                denoiser = d;
                contextDim = d.config().contextDim();
                pooledDim = d.config().pooledDim();
            }

            Map<EncoderRole, TextEncoder> encoders = new LinkedHashMap<>();
            Map<EncoderRole, int[]> dims = new LinkedHashMap<>();
            Map<EncoderRole, Integer> lengths = new LinkedHashMap<>();
            for (EncoderRole role : List.of(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5)) {
                Function<String, long[]> tokenizer = tokenizer(role);
                if (tokenizer instanceof PromptTokenizer t) {
                    lengths.put(role, t.maxLength());
                }
                Optional<EncoderSource> src = encoderSource(role, tokenizer);
                if (src.isEmpty()) {
                    continue;
                }
                EncoderSource s = src.get();
                if (options.lowMemory()) {
                    dims.put(role, s.dims);
                    encoders.put(role, new LoadOnUseEncoder(role, s.loader));
                } else {
                    TextEncoder e = s.loader.get();
                    own((AutoCloseable) e);
                    encoders.put(role, e);
                    dims.put(role, s.dims != null ? s.dims : ((OnnxFolderEncoder) e).dims());
                    merged.addAll(e instanceof OnnxFolderEncoder f ? f.mergedLoras()
                            : e instanceof OnnxClipEncoder c ? c.mergedLoras() : List.of());
                }
            }
            adapted.forEach((part, file) -> {
                if (part != LoraComponent.MMDIT && !encoders.containsKey(role(part))) {
                    throw new ModelLoadException(file, "has adapters for the " + part.part() + " text encoder, which"
                            + " the model " + path + " does not have; expected a LoRA for its "
                            + (encoders.isEmpty() ? "MMDiT" : "MMDiT and " + encoders.keySet()));
                }
            });
            Vae vae = loadVae();
            ConditioningLayout layout = layout(dims, lengths, contextDim, pooledDim);
            return new Sd3Model(path, format, denoiser, encoders, vae, layout, scheduler, config,
                    options.lowMemory(), new ArrayList<>(owned), loras, merged);
        }

        /** The parts of the model the LoRAs adapt, each with the first file that does (headers only). */
        Map<LoraComponent, Path> adaptedParts() {
            Map<LoraComponent, Path> out = new LinkedHashMap<>();
            for (LoraRequest l : loras) {
                try (LoraFileReader r = LoraFileReader.open(l.file())) {
                    r.components().forEach(c -> out.putIfAbsent(c, l.file()));
                }
            }
            return out;
        }

        private static EncoderRole role(LoraComponent part) {
            return part == LoraComponent.CLIP_L ? EncoderRole.CLIP_L : EncoderRole.CLIP_G;
        }

        <T extends AutoCloseable> T own(T t) {
            owned.add(t);
            return t;
        }

        /** How to load one encoder and its dims {features, pooled} (null: read from the loaded encoder). */
        record EncoderSource(int[] dims, Supplier<TextEncoder> loader) {
        }

        /**
         * The role's tokenizer: the one given in the options, else the folder's {@code tokenizer*\/} (diffusers and
         * ONNX folders; CLIP-L pads with its end token, CLIP-G with 0, T5 to 256 tokens), else none.
         */
        Function<String, long[]> tokenizer(EncoderRole role) {
            Function<String, long[]> given = options.tokenizers().get(role);
            if (given != null || format == Format.CHECKPOINT) {
                return given;
            }
            String dir = EncoderRole.CLIP_L.equals(role) ? "tokenizer"
                    : EncoderRole.CLIP_G.equals(role) ? "tokenizer_2" : "tokenizer_3";
            Path folder = path.resolve(dir);
            if (!Files.isDirectory(folder) || !Files.isDirectory(path.resolve(folderOf(role)))
                    && !options.encoderFiles().containsKey(role)) {
                return null;
            }
            if (EncoderRole.CLIP_L.equals(role)) {
                return own(ClipTokenizer.builder(folder).padWithEndToken().build());
            }
            if (EncoderRole.CLIP_G.equals(role)) {
                return own(ClipTokenizer.builder(folder).padId(0).build());
            }
            return own(T5Tokenizer.load(folder));
        }

        Optional<EncoderSource> encoderSource(EncoderRole role, Function<String, long[]> tokenizer) {
            boolean clip = role.kind() == EncoderRole.Kind.CLIP;
            Path standalone = options.encoderFiles().get(role);
            if (standalone != null) {
                if (!Files.isRegularFile(standalone)) {
                    throw new ModelLoadException(standalone, "expected a standalone " + role.name()
                            + " encoder file (safetensors), found " + (Files.exists(standalone) ? "a folder" : "nothing"));
                }
                LOG.info("Loading {} from the standalone file {}", role.name(), standalone);
                return Optional.of(source(standalone, role, clip, tokenizer));
            }
            switch (format) {
                case ONNX -> {
                    Path file = path.resolve(folderOf(role)).resolve("model.onnx");
                    if (!Files.isRegularFile(file)) {
                        return Optional.empty();
                    }
                    // Eager: the widths come from the loaded encoder, so the export is opened once.
                    int[] dims = options.lowMemory() ? onnxDims(file, role) : null;
                    return Optional.of(new EncoderSource(dims,
                            () -> (TextEncoder) (OnnxFolderEncoder.load(file, role, config,
                                    options.pooled(), tokenizer, loras))));
                }
                case DIFFUSERS -> {
                    Path folder = path.resolve(folderOf(role));
                    if (!Files.isDirectory(folder)) {
                        return Optional.empty();
                    }
                    return Optional.of(source(folder, role, clip, tokenizer));
                }
                default -> {
                    String prefix = clip ? "text_encoders." + role.name() + "." : "text_encoders.t5xxl.";
                    boolean present;
                    try (TensorSource s = Safetensors.open(path)) {
                        present = s.names().stream().anyMatch(n -> n.startsWith(prefix));
                    }
                    return present ? Optional.of(source(path, role, clip, tokenizer)) : Optional.empty();
                }
            }
        }

        /** {features, pooled} of an export: read from a temporary session (low-memory mode only). */
        private int[] onnxDims(Path file, EncoderRole role) {
            try (OnnxFolderEncoder e = OnnxFolderEncoder.load(file, role, config, options.pooled(), null)) {
                return e.dims();
            }
        }

        private EncoderSource source(Path file, EncoderRole role, boolean clip, Function<String, long[]> tokenizer) {
            int[] dims;
            // Reads shapes only (and fails on partial weights, naming the missing tensor).
            try (TensorSource s = Safetensors.open(file)) {
                if (clip) {
                    ClipWeights w = ClipWeights.of(s, file, role);
                    ClipConfig c = ClipConfig.infer(w, ClipConfig.Activation.forRole(role),
                            options.clipHeads().getOrDefault(role, 0));
                    if (options.lowMemory()) {
                        ClipGraph.build(c, w); // binds every weight: a partial encoder fails now, not at encode
                    }
                    boolean projected = options.pooled() == OnnxClipEncoder.PooledConvention.PROJECTED
                            || options.pooled() == OnnxClipEncoder.PooledConvention.REFERENCE
                            && !EncoderRole.CLIP_L.equals(role);
                    int pooled = projected && c.hasProjection()
                            ? Math.toIntExact(w.shape(ClipWeights.PROJECTION)[0]) : c.width();
                    dims = new int[] {c.width(), pooled};
                } else {
                    T5Weights w = T5Weights.of(s, file);
                    T5Config c = T5Config.infer(w);
                    if (options.lowMemory()) {
                        T5Graph.build(c, w); // binds every weight: a partial encoder fails now, not at encode
                    }
                    dims = new int[] {c.dModel(), 0};
                }
            }
            OnnxClipEncoder.Options clipOptions = OnnxClipEncoder.Options.defaults().withPooled(options.pooled())
                    .withTokenizer(tokenizer).withHeads(options.clipHeads().getOrDefault(role, 0));
            return new EncoderSource(dims, clip
                    ? () -> (TextEncoder) (OnnxClipEncoder.load(file, role, config, clipOptions, loras))
                    : () -> (TextEncoder) (OnnxT5Encoder.load(file, config, tokenizer)));
        }

        Vae loadVae() {
            switch (format) {
                case ONNX -> {
                    Path dec = path.resolve("vae_decoder").resolve("model.onnx");
                    Path enc = path.resolve("vae_encoder").resolve("model.onnx");
                    boolean hasDec = Files.isRegularFile(dec);
                    boolean hasEnc = Files.isRegularFile(enc);
                    if (!hasDec && !hasEnc) {
                        return null;
                    }
                    // A VAE built from a checkpoint feeds its weights as inputs, where ONNX Runtime does not apply
                    // the NCHWc layout rewrite (level ALL); without it here too both routes compute the same images.
                    OnnxOptions vaeOptions = config.optimizationLevel() == OnnxOptions.OptimizationLevel.ALL
                            ? config.toBuilder().optimizationLevel(OnnxOptions.OptimizationLevel.EXTENDED).build()
                            : config;
                    // optimum copies the diffusers VAE config (scaling and shift factors) into both halves' folders.
                    double[] scaling = org.sd3j.onnx.vae.VaeFileConfig.scaling((hasDec ? dec : enc).getParent(),
                            Map.of());
                    LatentFormat format = new LatentFormat(LatentFormat.SD3.channels(), LatentFormat.SD3.downscale(),
                            scaling[0], scaling[1]);
                    return own(OnnxFolderVae.load(hasDec ? dec : null, hasEnc ? enc : null, vaeOptions, format));
                }
                case DIFFUSERS -> {
                    Path folder = path.resolve("vae");
                    return Files.isDirectory(folder) ? own(org.sd3j.onnx.vae.OnnxVae.load(folder, config)) : null;
                }
                default -> {
                    boolean present;
                    try (TensorSource s = Safetensors.open(path)) {
                        present = s.names().stream().anyMatch(n -> n.startsWith("first_stage_model."));
                    }
                    return present ? own(org.sd3j.onnx.vae.OnnxVae.load(path, config)) : null;
                }
            }
        }

        /**
         * The conditioning layout: widths from the encoders (else what the transformer leaves), sequence lengths
         * from the tokenizers (else SD3's 77 and diffusers' 256), so that an absent or dropped encoder's zeros have
         * the length the model was trained with.
         */
        ConditioningLayout layout(Map<EncoderRole, int[]> dims, Map<EncoderRole, Integer> lengths, int contextDim,
                                  int pooledDim) {
            int[] l = dims.get(EncoderRole.CLIP_L);
            int[] g = dims.get(EncoderRole.CLIP_G);
            int[] t = dims.get(EncoderRole.T5);
            ConditioningLayout sd3 = ConditioningLayout.sd3();
            // Absent CLIP slots take what the denoiser's pooled width leaves (SD3: 768 + 1280).
            int lPooled;
            int gPooled;
            if (l != null && g != null) {
                lPooled = l[1];
                gPooled = g[1];
            } else if (l != null) {
                lPooled = l[1];
                gPooled = pooledDim - l[1];
            } else if (g != null) {
                gPooled = g[1];
                lPooled = pooledDim - g[1];
            } else if (pooledDim == sd3.pooledDim()) {
                lPooled = 768;
                gPooled = 1280;
            } else {
                lPooled = pooledDim / 2;
                gPooled = pooledDim - lPooled;
            }
            if (lPooled + gPooled != pooledDim || lPooled < 1 || gPooled < 1) {
                throw new ModelLoadException(path, "the CLIP encoders' pooled widths (CLIP-L " + lPooled + ", CLIP-G "
                        + gPooled + ") must sum to the transformer's pooled width " + pooledDim);
            }
            int lFeatures = l != null ? l[0] : lPooled;
            int gFeatures = g != null ? g[0] : gPooled;
            int tFeatures = t != null ? t[0] : contextDim;
            if (lFeatures + gFeatures > contextDim || tFeatures > contextDim) {
                throw new ModelLoadException(path, "the text encoders' widths (CLIP-L " + lFeatures + " + CLIP-G "
                        + gFeatures + ", T5 " + tFeatures + ") exceed the transformer's context width " + contextDim);
            }
            int clipTokens = lengths.getOrDefault(EncoderRole.CLIP_L,
                    lengths.getOrDefault(EncoderRole.CLIP_G, CLIP_TOKENS));
            if (lengths.getOrDefault(EncoderRole.CLIP_G, clipTokens) != clipTokens) {
                throw new ModelLoadException(path, "the CLIP tokenizers must make sequences of one length (their"
                        + " outputs are concatenated feature-wise), found CLIP-L " + clipTokens + " and CLIP-G "
                        + lengths.get(EncoderRole.CLIP_G));
            }
            return ConditioningLayout.builder()
                    .slot(EncoderRole.CLIP_L, clipTokens, lFeatures, lPooled)
                    .slot(EncoderRole.CLIP_G, clipTokens, gFeatures, gPooled)
                    .slot(EncoderRole.T5, lengths.getOrDefault(EncoderRole.T5, T5_TOKENS), tFeatures, 0)
                    .contextDim(contextDim)
                    .build();
        }
    }

    static String folderOf(EncoderRole role) {
        if (EncoderRole.CLIP_L.equals(role)) {
            return "text_encoder";
        }
        if (EncoderRole.CLIP_G.equals(role)) {
            return "text_encoder_2";
        }
        return "text_encoder_3";
    }

    public Path path() {
        return path;
    }

    public Format format() {
        return format;
    }

    public Denoiser denoiser() {
        ensureOpen();
        return denoiser;
    }

    /** The encoder of {@code role}, if the model has one. */
    public Optional<TextEncoder> encoder(EncoderRole role) {
        ensureOpen();
        return Optional.ofNullable(encoders.get(role));
    }

    /** The present encoders in slot order (CLIP-L, CLIP-G, T5). */
    public List<TextEncoder> encoders() {
        ensureOpen();
        return List.copyOf(encoders.values());
    }

    public Optional<Vae> vae() {
        ensureOpen();
        return Optional.ofNullable(vae);
    }

    /** The conditioning layout from the loaded encoders' and denoiser's widths. */
    public ConditioningLayout layout() {
        return layout;
    }

    /**
     * The classifier-free guidance scale the model's maker recommends ({@code model_index.json}'s
     * {@code _sd3j.guidance}), which {@link #pipelineBuilder()} sets; empty when the folder does not say.
     */
    public OptionalDouble recommendedGuidance() {
        return scheduler.guidance();
    }

    /** The flow shift ({@code scheduler_config.json}, else {@link #DEFAULT_SHIFT}). */
    public double shift() {
        return shift;
    }

    public boolean lowMemory() {
        return lowMemory;
    }

    /** The folder's scheduler and native-resolution settings (defaults for a checkpoint file). */
    public SchedulerConfig schedulerConfig() {
        return scheduler;
    }

    /**
     * The ONNX Runtime options the sessions were created with: those given to {@link #load}, with the CPU as the
     * provider when the requested one was unavailable and allowed to fall back.
     */
    public OnnxOptions onnxOptions() {
        return onnxOptions;
    }

    /**
     * What merging {@link Options#withLora} LoRAs did, per LoRA file and model part: how many adapters were merged
     * and, for ONNX folders, which could not be mapped to the export's weights. (In low-memory mode the text
     * encoders merge on each load and only log what they could not map.)
     */
    public List<MergedLora> mergedLoras() {
        return merged;
    }

    /**
     * A pipeline builder with this model's encoders, denoiser, VAE, layout, shift, native size (from
     * {@code transformer/config.json}'s {@code sample_size}, else the pipeline's 1024x1024) and recommended guidance
     * (from {@code model_index.json}'s {@code _sd3j.guidance}, else the pipeline's 7.0), and the LoRAs merged at load
     * recorded for the images' parameters ({@link Sd3Pipeline.Builder#mergedLoras}); components borrowed.
     */
    public Sd3Pipeline.Builder pipelineBuilder() {
        ensureOpen();
        Sd3Pipeline.Builder b = Sd3Pipeline.builder()
                .encoders(encoders.values().toArray(TextEncoder[]::new))
                .layout(layout)
                .denoiser(denoiser)
                .mergedLoras(loras)
                .shift(shift);
        if (vae != null) {
            b.vae(vae);
        }
        scheduler.guidance().ifPresent(b::guidance);
        int downscale = (vae != null ? vae.latentFormat() : LatentFormat.SD3).downscale();
        scheduler.imageSize(downscale).ifPresent(side -> {
            if (side % 16 == 0) {
                b.size(side, side);
            }
        });
        return b;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("SD3 model " + path + " is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<AutoCloseable> reversed = new ArrayList<>(owned);
        Collections.reverse(reversed);
        Closeables.closeAll(reversed);
    }

    @Override
    public String toString() {
        return "Sd3Model[" + path + ", " + format + ", encoders " + encoders.keySet() + ", "
                + (vae == null ? "no VAE" : "VAE") + ", shift " + shift + (lowMemory ? ", low memory" : "") + "]";
    }
}
