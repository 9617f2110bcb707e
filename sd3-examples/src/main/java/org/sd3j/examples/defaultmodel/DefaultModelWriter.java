package org.sd3j.examples.defaultmodel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.sd3j.Sd3Exception;
import org.sd3j.internal.AtomicFiles;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.convert.CheckpointConverter;
import org.sd3j.onnx.model.SchedulerConfig;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.onnx.vae.VaeConfig;
import org.sd3j.onnx.vae.VaeFileConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the {@code sd3} command's bundled default model: a small SD3-architecture model whose MMDiT and VAE
 * weights come from {@code src/main/model/default-model.safetensors} (trained by {@link DefaultModelRecipe}; random
 * ones when that file is absent), built by the project's own code. Runs at build time ({@code sd3-examples/pom.xml}
 * calls {@link #main} in {@code process-classes}), so only those trained weights are committed.
 *
 * <p>Steps: one single-file checkpoint in Stability's key layout ({@code model.diffusion_model.*},
 * {@code text_encoders.clip_l|clip_g|t5xxl.transformer.*}, {@code first_stage_model.*}) plus the tokenizer folders
 * is written to a temp folder, then {@link CheckpointConverter} turns it into the optimum ONNX layout (SPEC §6):
 * {@code transformer/}, {@code text_encoder/} (CLIP-L), {@code text_encoder_2/} (CLIP-G), {@code text_encoder_3/}
 * (T5), {@code vae_encoder/}, {@code vae_decoder/} (each {@code model.onnx} + {@code model.onnx_data}),
 * {@code tokenizer/}, {@code tokenizer_2/}, {@code tokenizer_3/}, {@code scheduler/scheduler_config.json} and
 * {@code model_index.json}. The writer adds {@code transformer/config.json} (diffusers fields,
 * {@code sample_size} {@value #LATENT_SIZE}: the model's native image side is {@value #IMAGE_SIZE} px), a
 * {@code "_sd3j"} provenance object in {@code model_index.json}, and {@value DefaultModel#INDEX} listing every
 * file (relative paths, {@code /}-separated, sorted), which is how {@link DefaultModel} finds the files inside a jar.
 *
 * <p>Shapes (SD3 architecture, small): MMDiT depth {@value #DEPTH} (hidden {@value #HIDDEN},
 * {@value #DEPTH} heads of 64, patch 2, 16 latent channels, position grid {@value #POS_GRID}); CLIP-L-style
 * encoder width {@value #CLIP_WIDTH} ({@value #CLIP_LAYERS} layers, {@value #CLIP_HEADS} heads, quick_gelu,
 * identity projection as in SD3); CLIP-G-style width {@value #CLIP_WIDTH} (exact GELU, random projection); T5-style
 * d_model {@value #T5_WIDTH} ({@value #T5_LAYERS} layers, {@value #T5_HEADS} heads, gated GELU); context width =
 * T5 width = CLIP-L + CLIP-G features; pooled width = CLIP-L + CLIP-G pooled; VAE with channels 32, 64, 64, 64
 * (downscale 8), {@value #VAE_RES_BLOCKS} ResNet block(s) per encoder level, 16 latent channels. Weights are
 * float32, uniform with fan-in-scaled standard deviations so activations stay O(1) and decoded images are not flat.
 *
 * <p>Deterministic: the same {@link #SEED} gives the same bytes on every run (no timestamps, ordered JSON, a
 * seeded {@link SplittableRandom} per component). Stateless and thread-safe.
 */
public final class DefaultModelWriter {
    private static final Logger LOG = LoggerFactory.getLogger(DefaultModelWriter.class);

    /** Seed of all random weights. */
    public static final long SEED = 20240612L;
    /** Image side the model is sized for (pixels). */
    public static final int IMAGE_SIZE = 64;
    /** Latent side of an {@link #IMAGE_SIZE} image ({@code sample_size} in {@code transformer/config.json}). */
    public static final int LATENT_SIZE = 8;
    /** MMDiT joint blocks; hidden = 64 x depth, heads = depth (SD3's rule). */
    public static final int DEPTH = 3;
    public static final int HIDDEN = 64 * DEPTH;
    /** Position grid side: latents up to 32 x 32 (256 px images). */
    public static final int POS_GRID = 16;
    public static final int PATCH = 2;
    public static final int LATENT_CHANNELS = 16;
    /** Width of both CLIP-style encoders. */
    public static final int CLIP_WIDTH = 64;
    public static final int CLIP_LAYERS = 2;
    public static final int CLIP_HEADS = 4;
    /**
     * Sequence length of all three encoders (CLIP's position table, both tokenizers' {@code model_max_length}):
     * the captions are short, and at 77 + 256 tokens the context stream would cost the MMDiT 20x the image stream.
     */
    public static final int TOKENS = 24;
    public static final int T5_WIDTH = 2 * CLIP_WIDTH;
    public static final int T5_LAYERS = 2;
    public static final int T5_HEADS = 4;
    public static final int T5_FF = 2 * T5_WIDTH;
    public static final int T5_BUCKETS = 32;
    /** Transformer context width: T5's width, which CLIP-L + CLIP-G features fill exactly. */
    public static final int CONTEXT_DIM = T5_WIDTH;
    /** Transformer pooled width: CLIP-L pooled (unprojected, width) + CLIP-G pooled (projected). */
    public static final int POOLED_DIM = 2 * CLIP_WIDTH;
    static final int[] VAE_CHANNELS = {32, 64, 64, 64};
    public static final int VAE_RES_BLOCKS = 1;

    /** The intermediate single-file checkpoint's name. */
    public static final String CHECKPOINT = "sd3_default.safetensors";
    static final String WEIGHTS_NOTE = "random weights: placeholder until the trained default model";

    private static final int FREQUENCIES = 256;
    private static final int IMAGE_CHANNELS = 3;

    private DefaultModelWriter() {
    }

    /**
     * Writes the default model's optimum folder into {@code outputDir}.
     *
     * @param args one argument: the output folder; a folder from an earlier run (one holding
     *             {@value DefaultModel#INDEX}) is replaced, any other non-empty folder is refused
     */
    public static void main(String[] args) {
        if (args.length != 1 && args.length != 2) {
            throw new IllegalArgumentException("arguments must be an output folder and optionally the trained "
                    + "weights file, found " + List.of(args));
        }
        Path out = Path.of(args[0]);
        if (Files.isRegularFile(out.resolve(DefaultModel.INDEX))) {
            deleteTree(out);
        }
        Path trained = args.length == 2 ? Path.of(args[1]) : null;
        if (trained != null && !Files.isRegularFile(trained)) {
            LOG.warn("No trained weights at {}: the default model gets random weights", trained);
            trained = null;
        }
        write(out, trained == null ? Weights.PLACEHOLDER : Weights.trained(trained));
    }

    /** {@link #write(Path, Weights)} with random weights ({@link Weights#PLACEHOLDER}). */
    public static Path write(Path outputDir) {
        return write(outputDir, Weights.PLACEHOLDER);
    }

    /**
     * Writes the optimum folder (see the class comment) into {@code outputDir}, which must be absent or empty; the
     * intermediate checkpoint lives in a temp folder that is deleted afterwards. With trained weights, the
     * scheduler's shift is the recipe's ({@link DefaultModelRecipe#SHIFT}) and their training provenance goes into
     * {@code model_index.json}.
     *
     * @return {@code outputDir}
     * @throws IllegalArgumentException if {@code outputDir} is a file or a non-empty folder
     * @throws Sd3Exception             if writing fails
     */
    public static Path write(Path outputDir, Weights weights) {
        requireEmpty(outputDir);
        Path work = null;
        try {
            work = Files.createTempDirectory("sd3j-default-model-");
            Path checkpoint = writeCheckpoint(work, weights);
            CheckpointConverter.Options options = CheckpointConverter.Options.defaults()
                    .withClipHeads(EncoderRole.CLIP_L, CLIP_HEADS)
                    .withClipHeads(EncoderRole.CLIP_G, CLIP_HEADS)
                    .withTokenizers(work);
            CheckpointConverter.convert(checkpoint, outputDir, options);
            Json.write(outputDir.resolve(CheckpointConverter.TRANSFORMER).resolve("config.json"), transformerConfig());
            Map<String, String> training = new LinkedHashMap<>();
            OptionalDouble guidance = OptionalDouble.empty();
            if (weights.transformer() != null) {
                try (TensorSource s = Safetensors.open(weights.transformer())) {
                    s.metadata().forEach((k, v) -> {
                        if (k.startsWith("training.")) {
                            training.put(k.substring("training.".length()), v);
                        }
                    });
                    guidance = Weights.recommendedGuidance(s.metadata(), weights.transformer());
                }
                Map<String, Object> scheduler = new LinkedHashMap<>();
                scheduler.put("_class_name", "FlowMatchEulerDiscreteScheduler");
                scheduler.put("num_train_timesteps", 1000);
                scheduler.put("shift", DefaultModelRecipe.SHIFT);
                Json.write(outputDir.resolve("scheduler").resolve("scheduler_config.json"), scheduler);
            }
            addProvenance(outputDir.resolve("model_index.json"), countParameters(checkpoint), training, guidance);
            List<String> files = writeIndex(outputDir);
            LOG.info("Wrote the default model ({} files, {} bytes, {}) to {}", files.size(), folderBytes(outputDir),
                    weights.transformer() != null ? "trained" : "random weights", outputDir);
            return outputDir;
        } catch (IOException e) {
            throw new Sd3Exception("Cannot write the default model to " + outputDir + ": " + e.getMessage(), e);
        } finally {
            if (work != null) {
                deleteTree(work);
            }
        }
    }

    /**
     * Writes the single-file checkpoint {@value #CHECKPOINT} (every component, SD3 key names) and the tokenizer
     * folders {@code tokenizer/}, {@code tokenizer_2/}, {@code tokenizer_3/} into {@code dir} (created if missing).
     *
     * @return the checkpoint file
     * @throws Sd3Exception if writing fails
     */
    public static Path writeCheckpoint(Path dir) {
        return writeCheckpoint(dir, Weights.PLACEHOLDER);
    }

    /**
     * {@link #writeCheckpoint(Path)} with the MMDiT and VAE weights from {@code weights} (the text encoders are
     * always the seeded random ones: frozen, never trained).
     *
     * @throws Sd3Exception if writing fails, or a weights file lacks a tensor of this architecture or holds one of
     *                      another shape (the file and the tensor named)
     */
    public static Path writeCheckpoint(Path dir, Weights weights) {
        try {
            return writeCheckpointFiles(dir, weights);
        } catch (IOException e) {
            throw new Sd3Exception("Cannot write the default model's checkpoint to " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Where the default model's MMDiT and VAE weights come from.
     *
     * @param transformer  a safetensors file with the MMDiT ({@value #MMDIT_PREFIX}* keys), or null
     * @param vae          a safetensors file with the VAE ({@value #VAE_PREFIX}* keys), or null
     * @param trainingInit for an MMDiT not read from a file: DiT's initialisation for training from scratch
     *                     (Xavier linears, zero adaLN modulation and final projection) instead of the placeholder's
     *                     fan-in random weights
     */
    public record Weights(Path transformer, Path vae, boolean trainingInit) {
        /** Seeded random weights everywhere: runs every part of the pipeline but draws structured noise. */
        public static final Weights PLACEHOLDER = new Weights(null, null, false);

        /** The base of a training run: the MMDiT initialised for training, the VAE from {@code vae} if not null. */
        public static Weights forTraining(Path vae) {
            return new Weights(null, vae, true);
        }

        /**
         * What the build bundles: the committed trained weights ({@link DefaultModelRecipe#SHIPPED_WEIGHTS}, relative
         * to the module folder, the working directory of builds and tests) when present, else random ones.
         */
        public static Weights shipped() {
            Path file = Path.of(DefaultModelRecipe.SHIPPED_WEIGHTS);
            return Files.isRegularFile(file) ? trained(file) : PLACEHOLDER;
        }

        /** A trained model: MMDiT and VAE both from {@code file}. */
        public static Weights trained(Path file) {
            return new Weights(file, file, false);
        }

        /**
         * The guidance scale the trained MMDiT's file recommends ({@link DefaultModelRecipe#GUIDANCE_KEY} in its
         * metadata); empty for random weights or a file that does not say.
         *
         * @throws Sd3Exception if the file says something that is not a finite scale >= 0
         */
        public OptionalDouble recommendedGuidance() {
            if (transformer == null) {
                return OptionalDouble.empty();
            }
            try (TensorSource s = Safetensors.open(transformer)) {
                return recommendedGuidance(s.metadata(), transformer);
            }
        }

        /** The scale {@code metadata} (of {@code file}) recommends, as {@link #recommendedGuidance()} reads it. */
        static OptionalDouble recommendedGuidance(Map<String, String> metadata, Path file) {
            String value = metadata.get(DefaultModelRecipe.GUIDANCE_KEY);
            if (value == null) {
                return OptionalDouble.empty();
            }
            try {
                double g = Double.parseDouble(value);
                if (Double.isFinite(g) && g >= 0) {
                    return OptionalDouble.of(g);
                }
            } catch (NumberFormatException e) {
                // reported below with the file
            }
            throw new Sd3Exception(file + ": metadata " + DefaultModelRecipe.GUIDANCE_KEY + " must be a finite "
                    + "number >= 0, found '" + value + "'");
        }
    }

    /**
     * The autoencoder's geometry ({@link #vae}'s tensors) with 8 GroupNorm groups, as the recipe trains it: one
     * channel per group at 32 channels (SD3's 32 groups) would be instance normalization, which keeps the decoder
     * from setting an image's overall colours. Latent scaling 1 and shift 0 until measured.
     */
    public static VaeConfig vaeConfig() {
        return new VaeConfig(VAE_CHANNELS.clone(), VAE_RES_BLOCKS, LATENT_CHANNELS, IMAGE_CHANNELS, true, true, 1.0,
                0.0, VAE_NORM_GROUPS);
    }

    /** GroupNorm groups of the trained autoencoder (see {@link #vaeConfig()}). */
    public static final int VAE_NORM_GROUPS = 8;

    /**
     * The words the tokenizers know whole: common prompt words, then every word of the training captions (sign
     * words lowercased, as both tokenizers lowercase), so that no caption is cut at {@link #TOKENS} tokens.
     */
    static List<String> vocabulary() {
        java.util.Set<String> words = new java.util.LinkedHashSet<>(Words.all());
        for (String w : org.sd3j.examples.shapes.CaptionVocabulary.words()) {
            words.add(w.toLowerCase(java.util.Locale.ROOT));
        }
        for (String w : org.sd3j.examples.shapes.CaptionVocabulary.signWords()) {
            words.add(w.toLowerCase(java.util.Locale.ROOT));
        }
        return List.copyOf(words);
    }

    /** Key prefix of the MMDiT in the single-file checkpoint. */
    public static final String MMDIT_PREFIX = "model.diffusion_model.";
    /** Key prefix of the VAE in the single-file checkpoint. */
    public static final String VAE_PREFIX = "first_stage_model.";

    private static Path writeCheckpointFiles(Path dir, Weights weights) throws IOException {
        Files.createDirectories(dir);
        List<String> words = vocabulary();
        ClipVocabulary clip = ClipVocabulary.learn(words);
        T5Vocabulary t5 = T5Vocabulary.of(words);
        clip.write(dir.resolve("tokenizer"), ClipVocabulary.EOS, TOKENS);
        clip.write(dir.resolve("tokenizer_2"), "!", TOKENS);
        Files.createDirectories(dir.resolve("tokenizer_3"));
        t5.write(dir.resolve("tokenizer_3"), TOKENS);

        SafetensorsWriter w = SafetensorsWriter.create();
        // One stream per component: resizing one component leaves the others' weights unchanged.
        SplittableRandom root = new SplittableRandom(SEED);
        SplittableRandom mmditRandom = root.split();
        if (weights.transformer() != null) {
            RandomTensors expected = new RandomTensors(SafetensorsWriter.create(), MMDIT_PREFIX, mmditRandom);
            mmdit(expected);
            copy(w, weights.transformer(), expected.shapes());
        } else if (weights.trainingInit()) {
            mmditForTraining(new RandomTensors(w, MMDIT_PREFIX, mmditRandom));
        } else {
            mmdit(new RandomTensors(w, MMDIT_PREFIX, mmditRandom));
        }
        clip(new RandomTensors(w, "text_encoders.clip_l.transformer.", root.split()), clip.size(), true);
        clip(new RandomTensors(w, "text_encoders.clip_g.transformer.", root.split()), clip.size(), false);
        t5(new RandomTensors(w, "text_encoders.t5xxl.transformer.", root.split()), t5.size());
        SplittableRandom vaeRandom = root.split();
        if (weights.vae() != null) {
            RandomTensors expected = new RandomTensors(SafetensorsWriter.create(), VAE_PREFIX, vaeRandom);
            vae(expected);
            copy(w, weights.vae(), expected.shapes());
            // What the file declares beyond shapes (latent scaling and shift, GroupNorm groups) travels along, so
            // that loading and converting the checkpoint build the same autoencoder (VaeFileConfig reads it).
            try (TensorSource source = Safetensors.open(weights.vae())) {
                for (String key : List.of(VaeFileConfig.SCALING_FACTOR, VaeFileConfig.SHIFT_FACTOR,
                        VaeFileConfig.NORM_GROUPS)) {
                    String value = source.metadata().getOrDefault(key, source.metadata().get("vae." + key));
                    if (value != null) {
                        w.metadata(key, value);
                    }
                }
            }
        } else {
            vae(new RandomTensors(w, VAE_PREFIX, vaeRandom));
        }
        w.metadata("generator", DefaultModelWriter.class.getName());
        w.metadata("seed", Long.toString(SEED));
        w.metadata("weights", weights.transformer() != null ? "trained" : weights.trainingInit()
                ? "initialised for training" : WEIGHTS_NOTE);
        Path file = dir.resolve(CHECKPOINT);
        w.write(file);
        return file;
    }

    /** Adds {@code expected}'s tensors, read from {@code file}, as float32; each must be there with that shape. */
    private static void copy(SafetensorsWriter w, Path file, Map<String, long[]> expected) {
        try (TensorSource source = Safetensors.open(file)) {
            for (Map.Entry<String, long[]> e : expected.entrySet()) {
                String name = e.getKey();
                if (!source.contains(name)) {
                    throw new Sd3Exception(file + ": expected the default model's tensor " + name + " "
                            + Arrays.toString(e.getValue()) + ", found no such tensor: weights for another"
                            + " architecture? (" + source.names().size() + " tensors)");
                }
                long[] shape = source.info(name).shape();
                if (!Arrays.equals(shape, e.getValue())) {
                    throw new Sd3Exception(file + ": expected " + name + " of shape "
                            + Arrays.toString(e.getValue()) + ", found " + Arrays.toString(shape));
                }
                w.add(name, source.toFloatTensor(name));
            }
        }
    }

    // ---------------------------------------------------------------- weights

    /** Stability's MMDiT keys (SPEC §5), as {@code sd3_impls} names them. */
    private static void mmdit(RandomTensors r) {
        int d = HIDDEN;
        r.conv("x_embedder.proj", d, LATENT_CHANNELS, PATCH);
        r.values("pos_embed", sinCosPositions(d, POS_GRID, LATENT_SIZE / PATCH), 1, (long) POS_GRID * POS_GRID, d);
        r.linear("t_embedder.mlp.0", d, FREQUENCIES);
        r.linear("t_embedder.mlp.2", d, d);
        r.linear("y_embedder.mlp.0", d, POOLED_DIM);
        r.linear("y_embedder.mlp.2", d, d);
        r.linear("context_embedder", d, CONTEXT_DIM);
        for (int i = 0; i < DEPTH; i++) {
            boolean last = i == DEPTH - 1;
            String x = "joint_blocks." + i + ".x_block.";
            r.linear(x + "adaLN_modulation.1", 6 * d, d);
            r.linear(x + "attn.qkv", 3 * d, d);
            r.linear(x + "attn.proj", d, d);
            r.linear(x + "mlp.fc1", 4 * d, d);
            r.linear(x + "mlp.fc2", d, 4 * d);
            String c = "joint_blocks." + i + ".context_block.";
            // The last context block is pre-only: (shift, scale) and q/k/v, no projection or MLP.
            r.linear(c + "adaLN_modulation.1", (last ? 2 : 6) * d, d);
            r.linear(c + "attn.qkv", 3 * d, d);
            if (!last) {
                r.linear(c + "attn.proj", d, d);
                r.linear(c + "mlp.fc1", 4 * d, d);
                r.linear(c + "mlp.fc2", d, 4 * d);
            }
        }
        r.linear("final_layer.adaLN_modulation.1", 2 * d, d);
        r.linear("final_layer.linear", PATCH * PATCH * LATENT_CHANNELS, d);
    }

    /**
     * The MMDiT for training from scratch, initialised as DiT does (the MMDiT paper follows DiT): Xavier-uniform
     * linears with zero biases, the timestep MLP at std 0.02, every adaLN modulation and the final projection zero
     * ("adaLN-Zero": each block starts as the identity and the model predicts zero velocity), fixed sin-cos
     * positions. Same keys and shapes as {@link #mmdit}.
     */
    private static void mmditForTraining(RandomTensors r) {
        int d = HIDDEN;
        r.xavierConv("x_embedder.proj", d, LATENT_CHANNELS, PATCH);
        r.values("pos_embed", sinCosPositions(d, POS_GRID, LATENT_SIZE / PATCH), 1, (long) POS_GRID * POS_GRID, d);
        r.uniform("t_embedder.mlp.0.weight", 0.02, d, FREQUENCIES);
        r.zeros("t_embedder.mlp.0.bias", d);
        r.uniform("t_embedder.mlp.2.weight", 0.02, d, d);
        r.zeros("t_embedder.mlp.2.bias", d);
        r.xavier("y_embedder.mlp.0", d, POOLED_DIM);
        r.xavier("y_embedder.mlp.2", d, d);
        r.xavier("context_embedder", d, CONTEXT_DIM);
        for (int i = 0; i < DEPTH; i++) {
            boolean last = i == DEPTH - 1;
            String x = "joint_blocks." + i + ".x_block.";
            r.zeros(x + "adaLN_modulation.1.weight", 6 * d, d);
            r.zeros(x + "adaLN_modulation.1.bias", 6 * d);
            r.xavier(x + "attn.qkv", 3 * d, d);
            r.xavier(x + "attn.proj", d, d);
            r.xavier(x + "mlp.fc1", 4 * d, d);
            r.xavier(x + "mlp.fc2", d, 4 * d);
            String c = "joint_blocks." + i + ".context_block.";
            r.zeros(c + "adaLN_modulation.1.weight", (last ? 2 : 6) * d, d);
            r.zeros(c + "adaLN_modulation.1.bias", (last ? 2 : 6) * d);
            r.xavier(c + "attn.qkv", 3 * d, d);
            if (!last) {
                r.xavier(c + "attn.proj", d, d);
                r.xavier(c + "mlp.fc1", 4 * d, d);
                r.xavier(c + "mlp.fc2", d, 4 * d);
            }
        }
        r.zeros("final_layer.adaLN_modulation.1.weight", 2 * d, d);
        r.zeros("final_layer.adaLN_modulation.1.bias", 2 * d);
        r.zeros("final_layer.linear.weight", PATCH * PATCH * LATENT_CHANNELS, d);
        r.zeros("final_layer.linear.bias", PATCH * PATCH * LATENT_CHANNELS);
    }

    /**
     * SD3's fixed 2-D sin-cos position table (diffusers' {@code get_2d_sincos_pos_embed} with
     * {@code base_size = sample_size / patch}): row-major over the {@code grid x grid} cells, each row
     * {@code [sin, cos] of the column coordinate, then [sin, cos] of the row coordinate}. Real rather than random,
     * so that the random model still sees where each patch is.
     */
    static float[] sinCosPositions(int dim, int grid, int baseSize) {
        int quarter = dim / 4;
        double scale = (double) baseSize / grid;
        float[] out = new float[grid * grid * dim];
        for (int row = 0; row < grid; row++) {
            for (int col = 0; col < grid; col++) {
                int o = (row * grid + col) * dim;
                double[] coords = {col * scale, row * scale};
                for (int axis = 0; axis < 2; axis++) {
                    for (int i = 0; i < quarter; i++) {
                        double omega = 1.0 / Math.pow(10000, (double) i / quarter);
                        double a = coords[axis] * omega;
                        out[o + axis * 2 * quarter + i] = (float) Math.sin(a);
                        out[o + axis * 2 * quarter + quarter + i] = (float) Math.cos(a);
                    }
                }
            }
        }
        return out;
    }

    /** HF transformers' CLIPTextModelWithProjection names (what {@code ClipWeights} reads). */
    private static void clip(RandomTensors r, int vocab, boolean identityProjection) {
        int d = CLIP_WIDTH;
        r.uniform("text_model.embeddings.token_embedding.weight", 1.0, vocab, d);
        r.uniform("text_model.embeddings.position_embedding.weight", 0.3, TOKENS, d);
        for (int i = 0; i < CLIP_LAYERS; i++) {
            String p = "text_model.encoder.layers." + i + ".";
            r.norm(p + "layer_norm1", d);
            for (String proj : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) {
                r.linear(p + "self_attn." + proj, d, d);
            }
            r.norm(p + "layer_norm2", d);
            r.linear(p + "mlp.fc1", 4 * d, d);
            r.linear(p + "mlp.fc2", d, 4 * d);
        }
        r.norm("text_model.final_layer_norm", d);
        if (identityProjection) {
            // SD3 stores CLIP-L's projection as an identity, so the reference's and diffusers' pooled vectors agree.
            float[] eye = new float[d * d];
            for (int i = 0; i < d; i++) {
                eye[i * d + i] = 1f;
            }
            r.values("text_projection.weight", eye, d, d);
        } else {
            r.linearWeight("text_projection.weight", d, d);
        }
    }

    /** HF transformers' T5EncoderModel names (what {@code T5Weights} reads), T5 v1.1 gated GELU. */
    private static void t5(RandomTensors r, int vocab) {
        int d = T5_WIDTH;
        int headDim = d / T5_HEADS;
        r.uniform("encoder.embed_tokens.weight", 1.0, vocab, d);
        for (int i = 0; i < T5_LAYERS; i++) {
            String p = "encoder.block." + i + ".layer.";
            r.scale(p + "0.layer_norm.weight", d);
            // T5 attention has no 1/sqrt(d_kv) scaling: its q initialization carries it.
            r.uniform(p + "0.SelfAttention.q.weight", 1 / Math.sqrt((double) d * headDim), d, d);
            r.linearWeight(p + "0.SelfAttention.k.weight", d, d);
            r.linearWeight(p + "0.SelfAttention.v.weight", d, d);
            r.linearWeight(p + "0.SelfAttention.o.weight", d, d);
            if (i == 0) {
                r.uniform(p + "0.SelfAttention.relative_attention_bias.weight", 0.5, T5_BUCKETS, T5_HEADS);
            }
            r.scale(p + "1.layer_norm.weight", d);
            r.linearWeight(p + "1.DenseReluDense.wi_0.weight", T5_FF, d);
            r.linearWeight(p + "1.DenseReluDense.wi_1.weight", T5_FF, d);
            r.linearWeight(p + "1.DenseReluDense.wo.weight", d, T5_FF);
        }
        r.scale("encoder.final_layer_norm.weight", d);
    }

    /** Stability's {@code sd3_impls} VAE names (what {@code VaeWeights} reads), without quant convolutions. */
    private static void vae(RandomTensors r) {
        int[] ch = VAE_CHANNELS;
        int levels = ch.length;
        r.conv("encoder.conv_in", ch[0], IMAGE_CHANNELS, 3);
        int in = ch[0];
        for (int level = 0; level < levels; level++) {
            for (int b = 0; b < VAE_RES_BLOCKS; b++) {
                resnet(r, "encoder.down." + level + ".block." + b, in, ch[level]);
                in = ch[level];
            }
            if (level != levels - 1) {
                r.conv("encoder.down." + level + ".downsample.conv", in, in, 3);
            }
        }
        mid(r, "encoder.mid", in);
        r.norm("encoder.norm_out", in);
        r.conv("encoder.conv_out", 2 * LATENT_CHANNELS, in, 3);

        int top = ch[levels - 1];
        r.conv("decoder.conv_in", top, LATENT_CHANNELS, 3);
        mid(r, "decoder.mid", top);
        in = top;
        for (int level = levels - 1; level >= 0; level--) {
            for (int b = 0; b <= VAE_RES_BLOCKS; b++) {
                resnet(r, "decoder.up." + level + ".block." + b, in, ch[level]);
                in = ch[level];
            }
            if (level != 0) {
                r.conv("decoder.up." + level + ".upsample.conv", in, in, 3);
            }
        }
        r.norm("decoder.norm_out", in);
        r.conv("decoder.conv_out", IMAGE_CHANNELS, in, 3);
    }

    private static void resnet(RandomTensors r, String module, int in, int out) {
        r.norm(module + ".norm1", in);
        r.conv(module + ".conv1", out, in, 3);
        r.norm(module + ".norm2", out);
        r.conv(module + ".conv2", out, out, 3);
        if (in != out) {
            r.conv(module + ".nin_shortcut", out, in, 1);
        }
    }

    private static void mid(RandomTensors r, String module, int c) {
        resnet(r, module + ".block_1", c, c);
        r.norm(module + ".attn_1.norm", c);
        for (String p : new String[] {"q", "k", "v", "proj_out"}) {
            r.conv(module + ".attn_1." + p, c, c, 1);
        }
        resnet(r, module + ".block_2", c, c);
    }

    // ---------------------------------------------------------------- metadata

    /** diffusers' {@code SD3Transformer2DModel} config for these shapes. */
    static Map<String, Object> transformerConfig() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_class_name", "SD3Transformer2DModel");
        m.put("_diffusers_version", "0.30.0");
        m.put("sample_size", LATENT_SIZE);
        m.put("patch_size", PATCH);
        m.put("in_channels", LATENT_CHANNELS);
        m.put("out_channels", LATENT_CHANNELS);
        m.put("num_layers", DEPTH);
        m.put("attention_head_dim", HIDDEN / DEPTH);
        m.put("num_attention_heads", DEPTH);
        m.put("joint_attention_dim", CONTEXT_DIM);
        m.put("caption_projection_dim", HIDDEN);
        m.put("pooled_projection_dim", POOLED_DIM);
        m.put("pos_embed_max_size", POS_GRID);
        m.put("qk_norm", null);
        m.put("dual_attention_layers", List.of());
        return m;
    }

    private static void addProvenance(Path modelIndex, long parameters, Map<String, String> training,
                                      OptionalDouble guidance)
            throws IOException {
        @SuppressWarnings("unchecked")
        Map<String, Object> index = Json.MAPPER.readValue(modelIndex.toFile(), LinkedHashMap.class);
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("generator", DefaultModelWriter.class.getName());
        p.put("seed", SEED);
        p.put("weights", training.isEmpty() ? WEIGHTS_NOTE : "trained from scratch by " + DefaultModelRecipe.class
                .getSimpleName() + " (sd3 train-default-model)");
        if (!training.isEmpty()) {
            p.put("training", new LinkedHashMap<>(training));
        }
        guidance.ifPresent(g -> p.put(SchedulerConfig.GUIDANCE_KEY, g));
        p.put("image_size", IMAGE_SIZE);
        p.put("latent_size", LATENT_SIZE);
        p.put("parameters", parameters);
        Map<String, Object> shapes = new LinkedHashMap<>();
        shapes.put("transformer", ordered("depth", DEPTH, "hidden", HIDDEN, "heads", DEPTH, "patch", PATCH,
                "latent_channels", LATENT_CHANNELS, "pos_embed_max_size", POS_GRID, "context_dim", CONTEXT_DIM,
                "pooled_dim", POOLED_DIM));
        shapes.put("text_encoder", ordered("style", "CLIP-L", "width", CLIP_WIDTH, "layers", CLIP_LAYERS,
                "heads", CLIP_HEADS, "activation", "quick_gelu", "projection", "identity"));
        shapes.put("text_encoder_2", ordered("style", "CLIP-G", "width", CLIP_WIDTH, "layers", CLIP_LAYERS,
                "heads", CLIP_HEADS, "activation", "gelu", "projection", "random"));
        shapes.put("text_encoder_3", ordered("style", "T5 v1.1", "d_model", T5_WIDTH, "layers", T5_LAYERS,
                "heads", T5_HEADS, "d_ff", T5_FF));
        shapes.put("vae", ordered("block_out_channels", List.of(VAE_CHANNELS[0], VAE_CHANNELS[1], VAE_CHANNELS[2],
                VAE_CHANNELS[3]), "layers_per_block", VAE_RES_BLOCKS, "latent_channels", LATENT_CHANNELS,
                "downscale", 1 << (VAE_CHANNELS.length - 1)));
        p.put("shapes", shapes);
        index.put("_sd3j", p);
        Json.write(modelIndex, index);
    }

    private static Map<String, Object> ordered(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    private static long countParameters(Path checkpoint) {
        try (TensorSource s = Safetensors.open(checkpoint)) {
            long n = 0;
            for (String name : s.names()) {
                long e = 1;
                for (long d : s.info(name).shape()) {
                    e *= d;
                }
                n += e;
            }
            return n;
        }
    }

    /** Writes {@value DefaultModel#INDEX}: every other file's path relative to {@code dir}, sorted. */
    private static List<String> writeIndex(Path dir) throws IOException {
        List<String> files = list(dir);
        files.remove(DefaultModel.INDEX);
        StringBuilder sb = new StringBuilder();
        for (String f : files) {
            sb.append(f).append('\n');
        }
        AtomicFiles.write(dir.resolve(DefaultModel.INDEX),
                tmp -> Files.writeString(tmp, sb, StandardCharsets.UTF_8));
        return files;
    }

    /** Regular files under {@code dir}, relative, {@code /}-separated, sorted. */
    static List<String> list(Path dir) throws IOException {
        List<String> files = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                if (Files.isRegularFile(p)) {
                    files.add(dir.relativize(p).toString().replace('\\', '/'));
                }
            }
        }
        files.sort(Comparator.naturalOrder());
        return files;
    }

    private static long folderBytes(Path dir) throws IOException {
        long n = 0;
        for (String f : list(dir)) {
            n += Files.size(dir.resolve(f));
        }
        return n;
    }

    private static void requireEmpty(Path dir) {
        if (Files.isRegularFile(dir)) {
            throw new IllegalArgumentException("outputDir must be a folder, found the file " + dir);
        }
        if (Files.isDirectory(dir)) {
            try (Stream<Path> entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    throw new IllegalArgumentException("outputDir must be absent or empty, found a non-empty folder "
                            + dir);
                }
            } catch (IOException e) {
                throw new Sd3Exception("Cannot list " + dir + ": " + e.getMessage(), e);
            }
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            List<Path> paths = walk.sorted(Comparator.reverseOrder()).toList();
            for (Path p : paths) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new Sd3Exception("Cannot delete " + dir + ": " + e.getMessage(), e);
        }
    }
}
