package org.sd3j.onnx.clip;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import org.sd3j.internal.Closeables;
import org.sd3j.lora.LoraCapable;
import org.sd3j.lora.LoraRequest;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.lora.CheckpointLocators;
import org.sd3j.onnx.lora.ClipModules;
import org.sd3j.onnx.lora.LoraComponent;
import org.sd3j.onnx.lora.LoraInputs;
import org.sd3j.onnx.lora.LoraPlacement;
import org.sd3j.onnx.lora.MergedLora;
import org.sd3j.onnx.lora.MergedTensorSource;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A CLIP text encoder (CLIP-L or OpenCLIP bigG) built from a checkpoint as an ONNX graph ({@link ClipGraph}) and run
 * with ONNX Runtime; weights stay memory-mapped and are bound zero-copy. Returns SD3's features (SPEC §3): the
 * penultimate hidden state {@code hidden_states.{L-1}} per token and the pooled vector at the first end token,
 * unprojected for CLIP-L and projected for CLIP-G as Stability's reference does ({@link PooledConvention#REFERENCE}),
 * or projected for both as diffusers does ({@link PooledConvention#PROJECTED}).
 *
 * <p>Tokenization is pluggable: {@link #encodeIds(long[][])} takes token ids, {@link #encode(List)} needs a tokenizer
 * given through {@link Options#withTokenizer(Function)}.
 *
 * <p><b>LoRA.</b> The adapters a LoRA file holds for this encoder ({@code lora_te1_*} / {@code lora_te2_*},
 * {@code text_encoder[_2].*}, ...) are merged into the weights at load
 * ({@link #load(Path, EncoderRole, OnnxOptions, Options, List)}), or applied per generation by a view
 * ({@link #withLoras}) whose graph takes them as inputs, as {@code MmditDenoiser} does.
 *
 * <p>Owns the checkpoint mapping and its sessions: {@link #close()} releases them (idempotent). Thread-safe; views
 * from {@link #withLoras} borrow this encoder.
 */
public final class OnnxClipEncoder implements TextEncoder, LoraCapable<TextEncoder>, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxClipEncoder.class);

    /** Which vector becomes the pooled output. */
    public enum PooledConvention {
        /** Stability's reference: CLIP-L unprojected, every other role projected ({@code text_embeds}). */
        REFERENCE,
        /** diffusers: the projected {@code text_embeds} for every role. */
        PROJECTED,
        /** The final-layer-normed state at the end token, never projected. */
        UNPROJECTED
    }

    /**
     * Loading options.
     *
     * @param heads      attention heads, 0 for {@code width / 64}
     * @param activation MLP activation, null for the role's (CLIP-L quick_gelu, CLIP-G gelu)
     * @param pooled     pooled-vector convention
     * @param tokenizer  prompt -> token ids (padded to a common length), null when only ids are encoded
     */
    public record Options(int heads, ClipConfig.Activation activation, PooledConvention pooled,
                          Function<String, long[]> tokenizer) {
        public Options {
            if (heads < 0) {
                throw new IllegalArgumentException("heads must be >= 0 (0: width / 64), found " + heads);
            }
            Objects.requireNonNull(pooled, "pooled");
        }

        public static Options defaults() {
            return new Options(0, null, PooledConvention.REFERENCE, null);
        }

        public Options withHeads(int heads) {
            return new Options(heads, activation, pooled, tokenizer);
        }

        public Options withActivation(ClipConfig.Activation activation) {
            return new Options(heads, activation, pooled, tokenizer);
        }

        public Options withPooled(PooledConvention pooled) {
            return new Options(heads, activation, pooled, tokenizer);
        }

        public Options withTokenizer(Function<String, long[]> tokenizer) {
            return new Options(heads, activation, pooled, tokenizer);
        }
    }

    private final EncoderRole role;
    private final String name;
    private final TensorSource source;
    private final ClipConfig config;
    private final Options options;
    private final ClipWeights weights;
    private final OnnxOptions sessionConfig;
    private final GraphSession.WeightBinding binding;
    private final List<MergedLora> merged;
    private final GraphSession session;
    /** Graphs with LoRA inputs, per set of adapted weights. */
    private final Map<Set<String>, GraphSession> adapted = new ConcurrentHashMap<>();
    private final String pooledOutput;
    private volatile boolean closed;

    private OnnxClipEncoder(EncoderRole role, String name, TensorSource source, ClipWeights weights, ClipConfig config,
                            Options options, OnnxOptions sessionConfig, List<MergedLora> merged) {
        this.role = role;
        this.name = name;
        this.source = source;
        this.config = config;
        this.options = options;
        this.weights = weights;
        this.sessionConfig = sessionConfig;
        this.merged = merged;
        this.binding = weights.storedAsHalf() ? GraphSession.WeightBinding.INPUTS
                : GraphSession.WeightBinding.INITIALIZERS;
        this.session = GraphSession.create(ClipGraph.build(config, weights), sessionConfig, binding);
        boolean projected = options.pooled() == PooledConvention.PROJECTED
                || options.pooled() == PooledConvention.REFERENCE && !EncoderRole.CLIP_L.equals(role);
        this.pooledOutput = projected ? ClipGraph.TEXT_EMBEDS : ClipGraph.POOLER_OUTPUT;
    }

    /** Loads the {@code role}'s encoder with default options (a CLIP_L or CLIP_G role). */
    public static OnnxClipEncoder load(Path checkpoint, EncoderRole role, OnnxOptions sessionConfig) {
        return load(checkpoint, role, sessionConfig, Options.defaults());
    }

    /**
     * Loads the {@code role}'s CLIP encoder from a single-file SD3 checkpoint ({@code text_encoders.<role>.transformer.*}),
     * a standalone {@code clip_l.safetensors} / {@code clip_g.safetensors} or a diffusers text-encoder file.
     */
    public static OnnxClipEncoder load(Path checkpoint, EncoderRole role, OnnxOptions sessionConfig,
                                       Options options) {
        return load(checkpoint, role, sessionConfig, options, List.of());
    }

    /**
     * Loads as {@link #load(Path, EncoderRole, OnnxOptions, Options)} with the adapters {@code loras} hold for this
     * encoder merged into its weights ({@code W + weight * (alpha / r) * B A}; weight-0 LoRAs skipped). Files without
     * adapters for this encoder change nothing.
     *
     * @throws org.sd3j.ModelLoadException for a LoRA file that cannot be read, has keys of no known layout or does
     *                                     not fit this encoder (naming the first offending tensor and its shapes)
     */
    public static OnnxClipEncoder load(Path checkpoint, EncoderRole role, OnnxOptions sessionConfig,
                                       Options options, List<LoraRequest> loras) {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(loras, "loras");
        Objects.requireNonNull(options, "options");
        if (role.kind() != EncoderRole.Kind.CLIP) {
            throw new IllegalArgumentException("role must be of kind CLIP, found " + role + " (" + role.kind() + ")");
        }
        ClipConfig.Activation activation = options.activation() != null ? options.activation()
                : ClipConfig.Activation.forRole(role);
        long start = System.nanoTime();
        TensorSource source = Safetensors.open(checkpoint);
        try {
            ClipWeights weights = ClipWeights.of(source, checkpoint, role);
            ClipConfig config = ClipConfig.infer(weights, activation, options.heads());
            List<MergedLora> merged = List.of();
            if (!loras.isEmpty()) {
                LoraPlacement.Placed placed = LoraPlacement.place(loras, LoraComponent.of(role),
                        ClipModules.linearShapes(config), CheckpointLocators.clip(weights));
                source = MergedTensorSource.of(source, placed.adapters());
                weights = ClipWeights.withPrefix(source, checkpoint, weights.prefix());
                merged = placed.merged();
            }
            if (!config.hasProjection()) {
                LOG.warn("{} in {} has no '{}': using the identity projection (as the reference initializes it);"
                        + " supply a checkpoint with the projection if the projected pooled vector matters",
                        role, checkpoint, weights.sourceName(ClipWeights.PROJECTION));
            }
            OnnxClipEncoder e = new OnnxClipEncoder(role, checkpoint.getFileName().toString(), source, weights,
                    config, options, sessionConfig, merged);
            LOG.info("Loaded {} CLIP text encoder ({} layers, width {}, {}) from {} ({}) in {} ms", role,
                    config.layers(), config.width(), config.activation(), checkpoint, weights.describeLayout(),
                    (System.nanoTime() - start) / 1_000_000);
            return e;
        } catch (RuntimeException e) {
            throw Closeables.closeAfterFailure(e, source);
        }
    }

    /** The graph for a checkpoint (for conversion to {@code model.onnx}); the source must stay open while used. */
    public static OnnxGraph graph(ClipConfig config, ClipWeights weights) {
        return ClipGraph.build(config, weights);
    }

    public ClipConfig config() {
        return config;
    }

    /** What merging the LoRAs given to {@link #load(Path, EncoderRole, OnnxOptions, Options, List)} did. */
    public List<MergedLora> mergedLoras() {
        return merged;
    }

    /**
     * A view of this encoder with the adapters {@code loras} hold for it applied per run (switchable LoRA): this
     * encoder itself when no file adapts it.
     *
     * @throws org.sd3j.ModelLoadException for a file that cannot be read, has keys of no known layout or does not
     *                                     fit this encoder
     */
    @Override
    public Applied<TextEncoder> withLoras(List<LoraRequest> loras) {
        ensureOpen();
        LoraPlacement.Placed placed = LoraPlacement.place(loras, LoraComponent.of(role),
                ClipModules.linearShapes(config), CheckpointLocators.clip(weights));
        LoraInputs inputs = LoraInputs.of(placed.adapters());
        if (inputs.isEmpty()) {
            return new Applied<>(this, placed.parts());
        }
        GraphSession s = adapted.computeIfAbsent(inputs.keys(), keys -> GraphSession.create(
                ClipGraph.build(config, weights, LoraInputs.graphInputs(keys, inputs.shapes())), sessionConfig,
                binding));
        return new Applied<>(new Adapted(s, inputs), placed.parts());
    }

    public Options options() {
        return options;
    }

    @Override
    public EncoderRole role() {
        return role;
    }

    @Override
    public EncodedText encode(List<String> prompts) {
        return encode(prompts, session, Map.of());
    }

    private EncodedText encode(List<String> prompts, GraphSession s, Map<String, Tensor> lora) {
        Objects.requireNonNull(prompts, "prompts");
        Function<String, long[]> tokenizer = options.tokenizer();
        if (tokenizer == null) {
            throw new IllegalStateException("CLIP encoder " + role + " has no tokenizer: load it with"
                    + " Options.withTokenizer(...) or encode token ids with encodeIds(long[][])");
        }
        long[][] ids = new long[prompts.size()][];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = tokenizer.apply(Objects.requireNonNull(prompts.get(i), "prompt"));
        }
        return encodeIds(ids, s, lora);
    }

    /**
     * Encodes token ids {@code [B][S]} (already padded: S equal across the batch): tokens = penultimate hidden
     * state {@code [B, S, D]}, pooled {@code [B, D]} per the convention.
     *
     * <p>Sequences longer than the position count (77) must be whole 77-token chunks, as
     * {@code ClipTokenizer}'s chunking mode makes them: each chunk is encoded on its own, the chunks' features are
     * concatenated along the sequence ({@code [B, k*77, D]}) and the pooled vector is the first chunk's, as
     * stable-diffusion.cpp does for long prompts.
     */
    public EncodedText encodeIds(long[][] ids) {
        return encodeIds(ids, session, Map.of());
    }

    private EncodedText encodeIds(long[][] ids, GraphSession runner, Map<String, Tensor> lora) {
        int positions = config.maxPositions();
        int s = ids.length == 0 || ids[0] == null ? 0 : ids[0].length;
        if (s <= positions || s % positions != 0) {
            Map<String, Tensor> out = run(ids, runner, lora);
            return new EncodedText(out.get(ClipGraph.hiddenState(config.penultimateIndex())), out.get(pooledOutput));
        }
        int chunks = s / positions;
        long[][] split = new long[ids.length * chunks][];
        for (int b = 0; b < ids.length; b++) {
            if (ids[b] == null || ids[b].length != s) {
                throw new IllegalArgumentException("token sequences must all have length " + s + ", found "
                        + (ids[b] == null ? "null" : ids[b].length) + " at index " + b);
            }
            for (int c = 0; c < chunks; c++) {
                split[b * chunks + c] = java.util.Arrays.copyOfRange(ids[b], c * positions, (c + 1) * positions);
            }
        }
        Map<String, Tensor> out = run(split, runner, lora);
        Tensor tokens = out.get(ClipGraph.hiddenState(config.penultimateIndex()));
        Tensor pooledAll = out.get(pooledOutput);
        int width = pooledAll.dim(1);
        Tensor pooled = Tensor.zeros(ids.length, width);
        for (int b = 0; b < ids.length; b++) {
            pooled.slice(b, b + 1).copyFrom(pooledAll.slice(b * chunks, b * chunks + 1));
        }
        // Chunks of one prompt are consecutive rows: [B*k, 77, D] is [B, k*77, D] in memory.
        return new EncodedText(tokens.reshape(ids.length, s, tokens.dim(2)), pooled);
    }

    /** Every graph output ({@code hidden_states.0..L}, {@code last_hidden_state}, pooler_output, text_embeds). */
    public Map<String, Tensor> run(long[][] ids) {
        return run(ids, session, Map.of());
    }

    private Map<String, Tensor> run(long[][] ids, GraphSession s, Map<String, Tensor> lora) {
        ensureOpen();
        Map<String, Tensor> in = new HashMap<>(lora);
        in.put(ClipGraph.INPUT_IDS, idsTensor(ids));
        return s.run(in);
    }

    private Tensor idsTensor(long[][] ids) {
        Objects.requireNonNull(ids, "ids");
        if (ids.length == 0) {
            throw new IllegalArgumentException("ids must hold at least one sequence, found none");
        }
        int s = Objects.requireNonNull(ids[0], "ids[0]").length;
        if (s < 1 || s > config.maxPositions()) {
            throw new IllegalArgumentException("token sequences must have 1 to " + config.maxPositions()
                    + " ids, found " + s);
        }
        float[] flat = new float[ids.length * s];
        for (int b = 0; b < ids.length; b++) {
            long[] row = Objects.requireNonNull(ids[b], "ids[" + b + "]");
            if (row.length != s) {
                throw new IllegalArgumentException("token sequences must all have length " + s + ", found "
                        + row.length + " at index " + b);
            }
            for (int i = 0; i < s; i++) {
                if (row[i] < 0 || row[i] >= config.vocabSize()) {
                    throw new IllegalArgumentException("token ids must be in [0, " + config.vocabSize()
                            + "), found " + row[i] + " at [" + b + ", " + i + "]");
                }
                flat[b * s + i] = row[i];
            }
        }
        return Tensor.of(flat, ids.length, s);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("text encoder " + role + " (" + name + ") is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<AutoCloseable> all = new ArrayList<>(adapted.values());
        all.add(session);
        all.add(source);
        Closeables.closeAll(all);
    }

    @Override
    public String toString() {
        return "OnnxClipEncoder[" + role + ", " + name + ", " + config.layers() + " layers, width " + config.width()
                + "]";
    }

    /** This encoder with one generation's LoRAs as graph inputs. Immutable; borrows the encoder. */
    private final class Adapted implements TextEncoder {
        private final GraphSession session;
        private final LoraInputs lora;

        Adapted(GraphSession session, LoraInputs lora) {
            this.session = session;
            this.lora = lora;
        }

        @Override
        public EncoderRole role() {
            return role;
        }

        @Override
        public EncodedText encode(List<String> prompts) {
            return OnnxClipEncoder.this.encode(prompts, session, lora.tensors());
        }

        @Override
        public String toString() {
            return "OnnxClipEncoder[" + role + ", " + name + ", LoRA on " + lora.keys().size() + " weights]";
        }
    }
}
