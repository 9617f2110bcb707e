package org.sd3j.onnx.convert;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import org.sd3j.ModelLoadException;
import org.sd3j.Sd3Exception;
import org.sd3j.internal.AtomicFiles;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.clip.ClipConfig;
import org.sd3j.onnx.clip.ClipGraph;
import org.sd3j.onnx.clip.ClipWeights;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.model.SchedulerConfig;
import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.onnx.t5.T5Config;
import org.sd3j.onnx.t5.T5Graph;
import org.sd3j.onnx.t5.T5Weights;
import org.sd3j.onnx.tokenizer.ClipTokenizer;
import org.sd3j.onnx.tokenizer.T5Tokenizer;
import org.sd3j.onnx.vae.VaeConfig;
import org.sd3j.onnx.vae.VaeGraph;
import org.sd3j.onnx.vae.VaeWeights;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Converts SD3 weights (a single-file checkpoint, a sharded index, a diffusers model folder or its
 * {@code transformer/} folder) into an optimum-style ONNX folder (SPEC §6):
 * <pre>
 *   transformer/model.onnx (+ model.onnx_data)   hidden_states, timestep, encoder_hidden_states,
 *                                                pooled_projections -> out_hidden_states
 *   text_encoder/model.onnx     CLIP-L   input_ids -> text_embeds, last_hidden_state, hidden_states.0..L
 *   text_encoder_2/model.onnx   CLIP-G   (same)
 *   text_encoder_3/model.onnx   T5       input_ids -> last_hidden_state
 *   vae_encoder/model.onnx      sample -> latent_parameters
 *   vae_decoder/model.onnx      latent_sample -> sample
 *   tokenizer/, tokenizer_2/, tokenizer_3/      copied from a diffusers folder, or from {@link Options#tokenizers()}
 *   scheduler/scheduler_config.json             {"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": 3.0, ...}
 *   model_index.json                            {"_class_name": "StableDiffusion3Pipeline", ...}
 * </pre>
 * Components the input lacks (e.g. T5 in {@code sd3_medium.safetensors}, or everything but the transformer) are
 * absent from the output and {@code null} in {@code model_index.json}; an encoder whose weights are only partly
 * there fails with a {@link ModelLoadException} naming the missing tensor. Each file is written to a temp file and
 * moved into place. Thread-safe (stateless).
 *
 * <p>{@link Options#encoderFiles()} adds or replaces encoders from standalone files (ComfyUI's
 * {@code clip_l.safetensors}, {@code clip_g.safetensors}, {@code t5xxl_fp16.safetensors}). A single-file checkpoint
 * carries no tokenizers: {@link Options#tokenizers()} names a diffusers-style folder whose {@code tokenizer/},
 * {@code tokenizer_2/}, {@code tokenizer_3/} are validated and copied; without it the output has no tokenizer
 * folders and a WARN says so.
 */
public final class CheckpointConverter {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointConverter.class);

    /** Output folder names of the components, in {@code model_index.json} order. */
    /**
     * The attention the converted transformer uses: standard ONNX ops only, so the file runs anywhere (ONNX
     * Runtime's fused attention is a com.microsoft contrib op), at about 2% of speed on CPU.
     */
    public static final MmditGraph.Attention ATTENTION = MmditGraph.Attention.PRIMITIVE;
    public static final String TRANSFORMER = "transformer";
    public static final String TEXT_ENCODER = "text_encoder";
    public static final String TEXT_ENCODER_2 = "text_encoder_2";
    public static final String TEXT_ENCODER_3 = "text_encoder_3";
    public static final String VAE_ENCODER = "vae_encoder";
    public static final String VAE_DECODER = "vae_decoder";
    private static final List<String> TOKENIZERS = List.of("tokenizer", "tokenizer_2", "tokenizer_3");

    /**
     * What a conversion produced.
     *
     * @param components the component folders written ({@code transformer}, {@code text_encoder}, ...,
     *                   {@code tokenizer*}), in the order written
     */
    public record Result(Path outputDir, MmditConfig transformer, long weightBytes, double shift,
                         List<String> components) {
        public Result {
            components = List.copyOf(components);
        }
    }

    /**
     * Conversion options.
     *
     * @param clipHeads    attention heads per CLIP role where they are not width / 64 (e.g. small test encoders)
     * @param encoderFiles standalone encoder weights per role, used instead of (or in addition to) the input's
     * @param tokenizers   a diffusers-style folder with {@code tokenizer/}, {@code tokenizer_2/}, {@code tokenizer_3/}
     *                     to copy into the output (instead of the input's), or null
     */
    public record Options(Map<EncoderRole, Integer> clipHeads, Map<EncoderRole, Path> encoderFiles, Path tokenizers) {
        public Options {
            clipHeads = Map.copyOf(Objects.requireNonNull(clipHeads, "clipHeads"));
            encoderFiles = Map.copyOf(Objects.requireNonNull(encoderFiles, "encoderFiles"));
        }

        public static Options defaults() {
            return new Options(Map.of(), Map.of(), null);
        }

        public Options withClipHeads(EncoderRole role, int heads) {
            if (heads < 1) {
                throw new IllegalArgumentException("heads must be >= 1, found " + heads);
            }
            Map<EncoderRole, Integer> m = new LinkedHashMap<>(clipHeads);
            m.put(Objects.requireNonNull(role, "role"), heads);
            return new Options(m, encoderFiles, tokenizers);
        }

        public Options withClipHeads(Map<EncoderRole, Integer> heads) {
            return new Options(heads, encoderFiles, tokenizers);
        }

        /** Converts {@code role}'s encoder from the standalone safetensors {@code file}. */
        public Options withEncoderFile(EncoderRole role, Path file) {
            Objects.requireNonNull(role, "role");
            if (!ENCODER_DIRS.containsKey(role)) {
                throw new IllegalArgumentException("role must be clip_l, clip_g or t5xxl, found " + role);
            }
            Map<EncoderRole, Path> m = new LinkedHashMap<>(encoderFiles);
            m.put(role, Objects.requireNonNull(file, "file"));
            return new Options(clipHeads, m, tokenizers);
        }

        /** Copies the tokenizer folders of {@code folder} (diffusers layout) into the output. */
        public Options withTokenizers(Path folder) {
            return new Options(clipHeads, encoderFiles, Objects.requireNonNull(folder, "folder"));
        }
    }

    private static final Map<EncoderRole, String> ENCODER_DIRS = Map.of(
            EncoderRole.CLIP_L, TEXT_ENCODER, EncoderRole.CLIP_G, TEXT_ENCODER_2, EncoderRole.T5, TEXT_ENCODER_3);

    private CheckpointConverter() {
    }

    /**
     * Converts {@code input} into {@code outputDir} (created if missing; existing files of the same names are
     * replaced).
     */
    public static Result convert(Path input, Path outputDir) {
        return convert(input, outputDir, Map.of());
    }

    /**
     * Converts {@code input} into {@code outputDir}, building CLIP encoders with {@code clipHeads} attention heads
     * per role where they are not width / 64 (e.g. small test encoders).
     */
    public static Result convert(Path input, Path outputDir, Map<EncoderRole, Integer> clipHeads) {
        return convert(input, outputDir, Options.defaults().withClipHeads(clipHeads));
    }

    /** Converts {@code input} into {@code outputDir} with {@code options} (see {@link Options}). */
    public static Result convert(Path input, Path outputDir, Options options) {
        Objects.requireNonNull(options, "options");
        Map<EncoderRole, Integer> clipHeads = options.clipHeads();
        if (!Files.exists(input)) {
            throw new ModelLoadException(input, "no such file or folder");
        }
        // Fail on bad side inputs before writing anything.
        for (Map.Entry<EncoderRole, Path> f : options.encoderFiles().entrySet()) {
            if (!Files.isRegularFile(f.getValue())) {
                throw new ModelLoadException(f.getValue(), "expected a standalone " + f.getKey().name()
                        + " encoder file (safetensors), found " + (Files.exists(f.getValue()) ? "a folder" : "nothing"));
            }
        }
        List<String> tokenizerDirs = options.tokenizers() == null ? List.of() : validateTokenizers(options.tokenizers());
        boolean diffusers = Files.isDirectory(input) && Files.isDirectory(input.resolve(TRANSFORMER));
        Path transformerSource = diffusers ? input.resolve(TRANSFORMER) : input;
        double shift = diffusers ? SchedulerConfig.read(input).shift() : SchedulerConfig.DEFAULT_SHIFT;
        List<String> written = new ArrayList<>();
        long bytes = 0;
        try {
            MmditConfig config;
            try (TensorSource source = Safetensors.open(transformerSource)) {
                // float32 compute; float16 weights stay float16 in the data file and are cast in the graph.
                MmditWeights weights = MmditWeights.of(source, transformerSource, ElementType.FLOAT)
                        .keepingStoredType();
                config = MmditConfig.infer(weights);
                OnnxGraph graph = MmditGraph.build(config, weights, Set.of(), ATTENTION);
                bytes += save(graph, outputDir, TRANSFORMER, written);
                LOG.info("Converted the transformer of {} ({}, {})", input, config.variant(), weights.describeLayout());
            }
            Map<EncoderRole, String> encoderDirs = new LinkedHashMap<>();
            encoderDirs.put(EncoderRole.CLIP_L, TEXT_ENCODER);
            encoderDirs.put(EncoderRole.CLIP_G, TEXT_ENCODER_2);
            encoderDirs.put(EncoderRole.T5, TEXT_ENCODER_3);
            for (Map.Entry<EncoderRole, String> e : encoderDirs.entrySet()) {
                Path standalone = options.encoderFiles().get(e.getKey());
                Path source = standalone != null ? standalone : diffusers ? input.resolve(e.getValue()) : input;
                if (standalone == null && (diffusers ? !Files.isDirectory(source)
                        : !hasPrefix(source, checkpointPrefix(e.getKey())))) {
                    continue;
                }
                if (standalone != null) {
                    LOG.info("Converting {} from the standalone file {}", e.getKey().name(), standalone);
                }
                bytes += convertEncoder(source, e.getKey(), clipHeads.getOrDefault(e.getKey(), 0), outputDir,
                        e.getValue(), written);
            }
            Path vaeSource = diffusers ? input.resolve("vae") : input;
            if (diffusers ? Files.isDirectory(vaeSource) : hasPrefix(vaeSource, "first_stage_model.")) {
                bytes += convertVae(vaeSource, outputDir, written);
            }
            if (options.tokenizers() != null) {
                for (String t : tokenizerDirs) {
                    copyFolder(options.tokenizers().resolve(t), outputDir.resolve(t));
                    written.add(t);
                }
            } else if (diffusers) {
                for (String t : TOKENIZERS) {
                    if (Files.isDirectory(input.resolve(t))) {
                        copyFolder(input.resolve(t), outputDir.resolve(t));
                        written.add(t);
                    }
                }
            }
            if (written.stream().noneMatch(TOKENIZERS::contains)) {
                LOG.warn("{} has no tokenizer folders (a single-file checkpoint carries none), so {} has no "
                        + "tokenizer/, tokenizer_2/, tokenizer_3/ and its encoders can only encode token ids: "
                        + "convert again with a diffusers-style folder holding them (CLI: --tokenizers DIR), "
                        + "or copy them into {} from the model's diffusers repository", input, outputDir, outputDir);
            }
            writeJson(outputDir.resolve("scheduler").resolve("scheduler_config.json"), schedulerConfig(shift));
            writeJson(outputDir.resolve("model_index.json"), modelIndex(written));
            LOG.info("Converted {} to {}: {}", input, outputDir, written);
            return new Result(outputDir, config, bytes, shift, written);
        } catch (IOException e) {
            throw new Sd3Exception("Cannot write " + outputDir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Checks {@code folder}'s {@code tokenizer/} (CLIP-L), {@code tokenizer_2/} (CLIP-G) and {@code tokenizer_3/}
     * (T5) by loading each present one; returns the present ones. None present, or an invalid one, is a
     * {@link ModelLoadException}.
     */
    static List<String> validateTokenizers(Path folder) {
        if (!Files.isDirectory(folder)) {
            throw new ModelLoadException(folder, "expected a tokenizers folder holding tokenizer/, tokenizer_2/, "
                    + "tokenizer_3/ (as in a diffusers SD3 folder), found " + (Files.exists(folder) ? "a file" : "nothing"));
        }
        List<String> present = new ArrayList<>();
        for (String t : TOKENIZERS) {
            Path dir = folder.resolve(t);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            AutoCloseable loaded = switch (t) {
                case "tokenizer" -> ClipTokenizer.builder(dir).padWithEndToken().build();
                case "tokenizer_2" -> ClipTokenizer.builder(dir).padId(0).build();
                default -> T5Tokenizer.load(dir);
            };
            try {
                loaded.close();
            } catch (Exception e) {
                LOG.debug("Closing the tokenizer of {} failed", dir, e);
            }
            present.add(t);
        }
        if (present.isEmpty()) {
            throw new ModelLoadException(folder, "expected a tokenizers folder holding tokenizer/, tokenizer_2/, "
                    + "tokenizer_3/ (as in a diffusers SD3 folder), found none of them in " + listing(folder));
        }
        if (present.size() < TOKENIZERS.size()) {
            List<String> missing = new ArrayList<>(TOKENIZERS);
            missing.removeAll(present);
            LOG.warn("{} lacks {}: the output gets only {}", folder, missing, present);
        }
        return present;
    }

    private static List<String> listing(Path folder) {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static String checkpointPrefix(EncoderRole role) {
        return EncoderRole.T5.equals(role) ? T5Weights.CHECKPOINT_PREFIX : "text_encoders." + role.name() + ".";
    }

    private static boolean hasPrefix(Path file, String prefix) {
        try (TensorSource s = Safetensors.open(file)) {
            return s.names().stream().anyMatch(n -> n.startsWith(prefix));
        }
    }

    private static long convertEncoder(Path file, EncoderRole role, int heads, Path outputDir, String dir, List<String> written) {
        try (TensorSource s = Safetensors.open(file)) {
            OnnxGraph graph;
            if (role.kind() == EncoderRole.Kind.CLIP) {
                ClipWeights w = ClipWeights.of(s, file, role);
                graph = ClipGraph.build(ClipConfig.infer(w, ClipConfig.Activation.forRole(role), heads), w);
            } else {
                T5Weights w = T5Weights.of(s, file);
                graph = T5Graph.build(T5Config.infer(w), w);
            }
            return save(graph, outputDir, dir, written);
        }
    }

    private static long convertVae(Path source, Path outputDir, List<String> written) {
        try (TensorSource s = Safetensors.open(source)) {
            VaeWeights w = VaeWeights.of(s, source);
            VaeConfig c = org.sd3j.onnx.vae.VaeFileConfig.read(w, source, s.metadata());
            double[] scaling = {c.scalingFactor(), c.shiftFactor()};
            long bytes = 0;
            if (c.hasEncoder()) {
                bytes += save(VaeGraph.encoder(c, w), outputDir, VAE_ENCODER, written);
                writeVaeConfig(outputDir.resolve(VAE_ENCODER), c, scaling);
            }
            if (c.hasDecoder()) {
                bytes += save(VaeGraph.decoder(c, w), outputDir, VAE_DECODER, written);
                writeVaeConfig(outputDir.resolve(VAE_DECODER), c, scaling);
            }
            return bytes;
        }
    }

    /**
     * The latent scaling and shift as optimum leaves them beside each VAE half (a diffusers {@code AutoencoderKL}
     * config), so a VAE trained with other factors than SD3's keeps them.
     */
    private static void writeVaeConfig(Path folder, VaeConfig c, double[] scaling) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_class_name", "AutoencoderKL");
        m.put("latent_channels", c.zChannels());
        m.put("norm_num_groups", c.normGroups());
        m.put("scaling_factor", scaling[0]);
        m.put("shift_factor", scaling[1]);
        try {
            writeJson(folder.resolve("config.json"), m);
        } catch (IOException e) {
            throw new Sd3Exception("Cannot write " + folder.resolve("config.json") + ": " + e.getMessage(), e);
        }
    }

    private static long save(OnnxGraph graph, Path outputDir, String dir, List<String> written) {
        Path folder = outputDir.resolve(dir);
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new Sd3Exception("Cannot create " + folder + ": " + e.getMessage(), e);
        }
        graph.save(folder.resolve("model.onnx"));
        written.add(dir);
        return graph.weightBytes();
    }

    private static void copyFolder(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    /** diffusers/optimum {@code model_index.json}: present components as [library, class], absent ones null. */
    static Map<String, Object> modelIndex(List<String> written) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_class_name", "StableDiffusion3Pipeline");
        m.put("_diffusers_version", "0.30.0");
        m.put("scheduler", List.of("diffusers", "FlowMatchEulerDiscreteScheduler"));
        m.put("text_encoder", component(written, TEXT_ENCODER, "transformers", "CLIPTextModelWithProjection"));
        m.put("text_encoder_2", component(written, TEXT_ENCODER_2, "transformers", "CLIPTextModelWithProjection"));
        m.put("text_encoder_3", component(written, TEXT_ENCODER_3, "transformers", "T5EncoderModel"));
        m.put("tokenizer", component(written, "tokenizer", "transformers", "CLIPTokenizer"));
        m.put("tokenizer_2", component(written, "tokenizer_2", "transformers", "CLIPTokenizer"));
        m.put("tokenizer_3", component(written, "tokenizer_3", "transformers", "T5TokenizerFast"));
        m.put("transformer", component(written, TRANSFORMER, "diffusers", "SD3Transformer2DModel"));
        m.put("vae", written.contains(VAE_DECODER) || written.contains(VAE_ENCODER)
                ? List.of("diffusers", "AutoencoderKL") : Arrays.asList(null, null));
        return m;
    }

    private static List<String> component(List<String> written, String dir, String library, String cls) {
        return written.contains(dir) ? List.of(library, cls) : Arrays.asList(null, null);
    }

    private static Map<String, Object> schedulerConfig(double shift) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_class_name", "FlowMatchEulerDiscreteScheduler");
        m.put("num_train_timesteps", 1000);
        m.put("shift", shift);
        return m;
    }

    private static void writeJson(Path file, Object value) throws IOException {
        AtomicFiles.write(file, tmp -> new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .writeValue(tmp.toFile(), value));
    }
}
