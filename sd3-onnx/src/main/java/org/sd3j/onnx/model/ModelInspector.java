package org.sd3j.onnx.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.sd3j.ModelLoadException;
import org.sd3j.internal.Checks;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.convert.CheckpointConverter;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorInfo;
import org.sd3j.onnx.safetensors.TensorSource;

/**
 * Describes a model file or folder without loading it: which components are there, their architecture, element
 * types and parameter counts, and for ONNX files the declared graph inputs and outputs. Reads safetensors headers
 * and ONNX graph declarations only (weights are never read and no ONNX Runtime session is created), so it takes
 * milliseconds on a 10 GB model. Accepts what {@link Sd3Model#load} accepts: a single-file (or sharded)
 * checkpoint, a diffusers folder or an ONNX folder. Stateless and thread-safe.
 *
 * <pre>{@code
 * ModelDescription d = ModelInspector.inspect(Path.of("sd3.5_medium-onnx"));
 * d.component("transformer").ifPresent(t -> System.out.println(t.variant() + ", " + t.parameterCount()));
 * }</pre>
 */
public final class ModelInspector {
    public static final String VAE_ENCODER = CheckpointConverter.VAE_ENCODER;
    public static final String VAE_DECODER = CheckpointConverter.VAE_DECODER;
    /** Every component an SD3 model can have, in the order they are described. */
    public static final List<String> COMPONENTS = List.of(CheckpointConverter.TRANSFORMER,
            CheckpointConverter.TEXT_ENCODER, CheckpointConverter.TEXT_ENCODER_2, CheckpointConverter.TEXT_ENCODER_3,
            VAE_ENCODER, VAE_DECODER);
    /** The tokenizer folders of diffusers and ONNX folders, for CLIP-L, CLIP-G and T5. */
    public static final List<String> TOKENIZERS = List.of("tokenizer", "tokenizer_2", "tokenizer_3");

    private static final String SCHEDULER_CONFIG = "scheduler/scheduler_config.json";
    private static final String MMDIT_PREFIX = "model.diffusion_model.";
    private static final String VAE_PREFIX = "first_stage_model.";

    private ModelInspector() {
    }

    /**
     * Describes {@code path}.
     *
     * @throws ModelLoadException when nothing is there, or it is none of the accepted forms
     */
    public static ModelDescription inspect(Path path) {
        Checks.notNull(path, "path");
        if (!Files.exists(path)) {
            throw new ModelLoadException(path, "no such file or folder");
        }
        Sd3Model.Format format = Sd3Model.detect(path);
        List<ModelDescription.Component> components = switch (format) {
            case CHECKPOINT -> checkpoint(path);
            case DIFFUSERS -> diffusers(path);
            case ONNX -> onnx(path);
        };
        List<String> present = components.stream().map(ModelDescription.Component::name).toList();
        List<String> absent = COMPONENTS.stream().filter(c -> !present.contains(c)).toList();
        List<String> tokenizers = format == Sd3Model.Format.CHECKPOINT ? List.of()
                : TOKENIZERS.stream().filter(t -> Files.isDirectory(path.resolve(t))).toList();
        double shift = Sd3Model.DEFAULT_SHIFT;
        String shiftSource;
        if (format == Sd3Model.Format.CHECKPOINT) {
            shiftSource = "SD3's default: a checkpoint carries no scheduler config";
        } else if (Files.isRegularFile(path.resolve(SCHEDULER_CONFIG))) {
            shift = SchedulerConfig.read(path).shift();
            shiftSource = SCHEDULER_CONFIG;
        } else {
            shiftSource = "SD3's default: there is no " + SCHEDULER_CONFIG;
        }
        return new ModelDescription(path, format, components, absent, tokenizers, shift, shiftSource);
    }

    // ---- single-file checkpoints: one safetensors source, components by name prefix

    private static List<ModelDescription.Component> checkpoint(Path path) {
        List<ModelDescription.Component> out = new ArrayList<>();
        try (TensorSource s = Safetensors.open(path)) {
            Map<String, Long> files = checkpointFiles(path, s);
            Map<String, Predicate<String>> groups = new LinkedHashMap<>();
            groups.put(CheckpointConverter.TEXT_ENCODER, n -> n.startsWith("text_encoders.clip_l."));
            groups.put(CheckpointConverter.TEXT_ENCODER_2, n -> n.startsWith("text_encoders.clip_g."));
            groups.put(CheckpointConverter.TEXT_ENCODER_3, n -> n.startsWith("text_encoders.t5xxl."));
            groups.put(VAE_ENCODER, n -> n.startsWith(VAE_PREFIX) && vaePart(n, true));
            groups.put(VAE_DECODER, n -> n.startsWith(VAE_PREFIX) && vaePart(n, false));
            boolean prefixed = s.names().stream().anyMatch(n -> n.startsWith(MMDIT_PREFIX));
            Predicate<String> others = n -> groups.values().stream().anyMatch(g -> g.test(n));
            Predicate<String> transformer = prefixed ? n -> n.startsWith(MMDIT_PREFIX)
                    : n -> !others.test(n) && !n.startsWith("text_encoders.") && !n.startsWith(VAE_PREFIX);
            Map<String, Predicate<String>> all = new LinkedHashMap<>();
            all.put(CheckpointConverter.TRANSFORMER, transformer);
            all.putAll(groups);
            for (Map.Entry<String, Predicate<String>> g : all.entrySet()) {
                List<TensorInfo> infos = s.names().stream().filter(g.getValue()).map(s::info).toList();
                if (!infos.isEmpty()) {
                    out.add(weightsComponent(g.getKey(), s, path, infos, files));
                }
            }
        }
        return out;
    }

    /** The checkpoint's file, or a sharded checkpoint's index and shards, with sizes. */
    private static Map<String, Long> checkpointFiles(Path path, TensorSource s) {
        Map<String, Long> files = new LinkedHashMap<>();
        files.put(String.valueOf(path.getFileName()), size(path));
        s.names().stream().map(s::pathOf).distinct().sorted()
                .forEach(p -> files.putIfAbsent(String.valueOf(p.getFileName()), size(p)));
        return files;
    }

    // ---- diffusers folders: one safetensors source per component folder

    private static List<ModelDescription.Component> diffusers(Path root) {
        List<ModelDescription.Component> out = new ArrayList<>();
        for (String name : List.of(CheckpointConverter.TRANSFORMER, CheckpointConverter.TEXT_ENCODER,
                CheckpointConverter.TEXT_ENCODER_2, CheckpointConverter.TEXT_ENCODER_3)) {
            Path folder = root.resolve(name);
            if (Files.isDirectory(folder)) {
                diffusersComponent(root, folder, name, n -> true).ifPresent(out::add);
            }
        }
        Path vae = root.resolve("vae");
        if (Files.isDirectory(vae)) {
            diffusersComponent(root, vae, VAE_ENCODER, n -> vaePart(n, true)).ifPresent(out::add);
            diffusersComponent(root, vae, VAE_DECODER, n -> vaePart(n, false)).ifPresent(out::add);
        }
        return out;
    }

    /** The component's tensors in {@code folder} that {@code part} accepts; empty when there are none. */
    private static Optional<ModelDescription.Component> diffusersComponent(Path root, Path folder, String name,
                                                                           Predicate<String> part) {
        Map<String, Long> files = folderFiles(root, folder, f -> f.endsWith(".safetensors") || f.endsWith(".json"));
        try (TensorSource s = Safetensors.open(folder)) {
            List<TensorInfo> infos = s.names().stream().filter(part).map(s::info).toList();
            return infos.isEmpty() ? Optional.empty() : Optional.of(weightsComponent(name, s, folder, infos, files));
        } catch (ModelLoadException e) {
            // e.g. a folder holding several .safetensors files and no index: loading fails the same way
            return Optional.of(new ModelDescription.Component(name, kind(name), "unrecognized", Map.of(), files,
                    Map.of(), 0, List.of(), List.of(), List.of(e.getMessage())));
        }
    }

    private static ModelDescription.Component weightsComponent(String name, TensorSource s, Path origin,
                                                               List<TensorInfo> infos, Map<String, Long> files) {
        Map<String, Long> byType = new LinkedHashMap<>();
        long bytes = 0;
        for (TensorInfo i : infos) {
            byType.merge(dtypeName(i.dtype()), i.elementCount(), Long::sum);
            bytes += i.byteSize();
        }
        List<String> problems = new ArrayList<>();
        ComponentVariants.Variant v;
        try {
            v = switch (name) {
                case CheckpointConverter.TRANSFORMER -> ComponentVariants.mmdit(s, origin);
                case CheckpointConverter.TEXT_ENCODER -> ComponentVariants.clip(s, origin, EncoderRole.CLIP_L);
                case CheckpointConverter.TEXT_ENCODER_2 -> ComponentVariants.clip(s, origin, EncoderRole.CLIP_G);
                case CheckpointConverter.TEXT_ENCODER_3 -> ComponentVariants.t5(s, origin);
                default -> ComponentVariants.vae(s, origin);
            };
        } catch (RuntimeException e) {
            problems.add(e.getMessage());
            v = new ComponentVariants.Variant("unrecognized", Map.of());
        }
        return new ModelDescription.Component(name, kind(name), v.summary(), v.details(), files,
                largestFirst(byType), bytes, List.of(), List.of(), problems);
    }

    // ---- ONNX folders: <component>/model.onnx (+ external data)

    private static List<ModelDescription.Component> onnx(Path root) {
        List<ModelDescription.Component> out = new ArrayList<>();
        for (String name : COMPONENTS) {
            Path model = root.resolve(name).resolve("model.onnx");
            if (Files.isRegularFile(model)) {
                out.add(onnxComponent(root, model, name));
            }
        }
        return out;
    }

    private static ModelDescription.Component onnxComponent(Path root, Path model, String name) {
        Map<String, Long> files = folderFiles(root, model.getParent(), f -> true);
        OnnxFileHeader h = OnnxFileHeader.read(model);
        Map<String, Long> byType = new LinkedHashMap<>();
        long bytes = 0;
        for (OnnxFileHeader.Initializer i : h.initializers()) {
            if (i.elementType().equals("int64") || i.elementType().equals("int32")) {
                continue; // shapes, axes and indices of the graph, not weights
            }
            byType.merge(i.elementType(), i.elements(), Long::sum);
            bytes += i.elements() * elementBytes(i.elementType());
        }
        ComponentVariants.Variant v = switch (name) {
            case CheckpointConverter.TRANSFORMER -> ComponentVariants.onnxTransformer(h);
            case CheckpointConverter.TEXT_ENCODER, CheckpointConverter.TEXT_ENCODER_2 ->
                    ComponentVariants.onnxEncoder(h, true);
            case CheckpointConverter.TEXT_ENCODER_3 -> ComponentVariants.onnxEncoder(h, false);
            default -> ComponentVariants.onnxVae(h, VAE_ENCODER.equals(name));
        };
        Map<String, String> details = new LinkedHashMap<>(v.details());
        if (!h.producer().isEmpty()) {
            details.put("producer", h.producer());
        }
        List<String> problems = "unrecognized".equals(v.summary())
                ? List.of("the initializer names show no joint_blocks.N / transformer_blocks.N structure")
                : List.of();
        return new ModelDescription.Component(name, kind(name), v.summary(), details, files, largestFirst(byType),
                bytes, h.inputs(), h.outputs(), problems);
    }

    // ---- helpers

    /** Whether a VAE tensor (with or without the checkpoint's or a {@code vae.} prefix) is the encoder's half. */
    private static boolean vaePart(String name, boolean encoder) {
        String n = name;
        for (String prefix : List.of(VAE_PREFIX, "vae.")) {
            if (n.startsWith(prefix)) {
                n = n.substring(prefix.length());
            }
        }
        return encoder ? n.startsWith("encoder.") || n.startsWith("quant_conv.")
                : n.startsWith("decoder.") || n.startsWith("post_quant_conv.");
    }

    /** What a component is, by its folder name: {@code text_encoder_3} -> {@code T5}. */
    public static String kind(String name) {
        return switch (name) {
            case CheckpointConverter.TRANSFORMER -> "MMDiT";
            case CheckpointConverter.TEXT_ENCODER -> "CLIP-L";
            case CheckpointConverter.TEXT_ENCODER_2 -> "CLIP-G";
            case CheckpointConverter.TEXT_ENCODER_3 -> "T5";
            case VAE_ENCODER -> "VAE encoder";
            case VAE_DECODER -> "VAE decoder";
            default -> name;
        };
    }

    /** safetensors element types as numpy-style names ({@code F16} -> {@code float16}), as ONNX ones are. */
    static String dtypeName(DType t) {
        return switch (t) {
            case F64 -> "float64";
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            case F8_E4M3 -> "float8_e4m3fn";
            case F8_E5M2 -> "float8_e5m2";
            case I64 -> "int64";
            case I32 -> "int32";
            case I16 -> "int16";
            case I8 -> "int8";
            case U8 -> "uint8";
            case U16 -> "uint16";
            case U32 -> "uint32";
            case U64 -> "uint64";
            case BOOL -> "bool";
            default -> t.name().toLowerCase(Locale.ROOT);
        };
    }

    private static int elementBytes(String type) {
        if (type.contains("64")) {
            return 8;
        }
        if (type.contains("32")) {
            return 4;
        }
        if (type.contains("16")) {
            return 2;
        }
        return 1;
    }

    private static Map<String, Long> largestFirst(Map<String, Long> counts) {
        return counts.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder())
                        .thenComparing(Map.Entry.comparingByKey()))
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a, LinkedHashMap::new));
    }

    /** The regular files of {@code folder} that {@code keep} accepts, relative to {@code root}, with sizes. */
    private static Map<String, Long> folderFiles(Path root, Path folder, Predicate<String> keep) {
        Map<String, Long> out = new LinkedHashMap<>();
        try (Stream<Path> list = Files.list(folder)) {
            list.filter(Files::isRegularFile).filter(p -> keep.test(p.getFileName().toString())).sorted()
                    .forEach(p -> out.put(root.relativize(p).toString().replace('\\', '/'), size(p)));
        } catch (IOException e) {
            throw new ModelLoadException(folder, "cannot list the folder: " + e.getMessage(), e);
        }
        return out;
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new ModelLoadException(p, "cannot read the file size: " + e.getMessage(), e);
        }
    }
}
