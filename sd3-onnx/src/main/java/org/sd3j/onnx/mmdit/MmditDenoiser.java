package org.sd3j.onnx.mmdit;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import org.sd3j.conditioning.Conditioning;
import org.sd3j.internal.Checks;
import org.sd3j.internal.Closeables;
import org.sd3j.lora.LoraCapable;
import org.sd3j.lora.LoraRequest;
import org.sd3j.model.BindingDenoiser;
import org.sd3j.model.BlockSkippingDenoiser;
import org.sd3j.model.BoundDenoiser;
import org.sd3j.model.Denoiser;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.lora.CheckpointLocators;
import org.sd3j.onnx.lora.LoraComponent;
import org.sd3j.onnx.lora.LoraInputs;
import org.sd3j.onnx.lora.LoraPlacement;
import org.sd3j.onnx.lora.MergedLora;
import org.sd3j.onnx.lora.MergedTensorSource;
import org.sd3j.onnx.lora.MmditModules;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SD3 MMDiT built from a checkpoint (single-file SD3/SD3.5 safetensors or a diffusers {@code transformer/}
 * folder) as an ONNX graph and run with ONNX Runtime; weights stay memory-mapped and are bound zero-copy.
 * Skip-layer guidance gets a second graph per skipped-block set, built on first use. float16 checkpoints stay
 * float16 in memory: the graph computes in float32 and casts each weight as it is used, with the weights fed as
 * run-time inputs so ONNX Runtime does not fold those casts into a float32 copy of the model (bfloat16 ones are
 * widened to float32 on load, since ONNX Runtime's CPU provider has no bfloat16 kernels).
 *
 * <p><b>LoRA.</b> Two ways, with the same effect up to float rounding:
 * <ul>
 *   <li>merged at load ({@link #load(Path, OnnxOptions, MmditGraph.Attention, List)}): each adapted weight becomes
 *       {@code W + sum weight * (alpha / r) * B A}, a new buffer bound in place of the mapped one, every other weight
 *       still zero-copy; no cost per step;</li>
 *   <li>switchable per generation ({@link LoraCapable#withLoras}): a view whose graph has the adapters as inputs
 *       ({@code W x + B (A x)}, all LoRAs stacked along the rank), built once per set of adapted weights and cached
 *       like the skip-layer graphs; nothing is reloaded, and a generation without LoRA runs the plain graph.</li>
 * </ul>
 *
 * <p>Owns the checkpoint mapping and its sessions: {@link #close()} releases them (idempotent). Thread-safe; views
 * from {@link #withLoras} borrow this denoiser.
 */
public final class MmditDenoiser implements BlockSkippingDenoiser, BindingDenoiser, LoraCapable<Denoiser>,
        AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MmditDenoiser.class);

    /** A graph variant: skipped blocks and the weights with adapter inputs. */
    private record Variant(Set<Integer> skipped, Set<String> adapted) {
    }

    private final String name;
    private final TensorSource source;
    private final MmditWeights weights;
    private final MmditConfig config;
    private final OnnxOptions sessionConfig;
    private final MmditGraph.Attention attention;
    private final GraphSession.WeightBinding binding;
    private final List<MergedLora> merged;
    private final GraphSession main;
    private final Map<Variant, GraphSession> variants = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private MmditDenoiser(String name, TensorSource source, MmditWeights weights, MmditConfig config,
                          OnnxOptions sessionConfig, MmditGraph.Attention attention,
                          GraphSession.WeightBinding binding, List<MergedLora> merged) {
        this.name = name;
        this.source = source;
        this.weights = weights;
        this.config = config;
        this.sessionConfig = sessionConfig;
        this.attention = attention;
        this.binding = binding;
        this.merged = merged;
        this.main = GraphSession.create(MmditGraph.build(config, weights, Set.of(), attention), sessionConfig,
                binding);
    }

    /**
     * Loads a checkpoint file, a sharded index or a diffusers {@code transformer/} folder with ONNX Runtime's fused
     * attention ({@link MmditGraph.Attention#FUSED}: measured faster on CPU, and what the CUDA provider accelerates
     * best).
     */
    public static MmditDenoiser load(Path checkpoint, OnnxOptions sessionConfig) {
        return load(checkpoint, sessionConfig, MmditGraph.Attention.FUSED);
    }

    public static MmditDenoiser load(Path checkpoint, OnnxOptions sessionConfig, MmditGraph.Attention attention) {
        return load(checkpoint, sessionConfig, attention, List.of());
    }

    /**
     * Loads with {@code loras} merged into the weights (see the class comment); LoRAs of weight 0 are skipped, so
     * their model is exactly the plain one. The files' text-encoder adapters are left to the encoders.
     *
     * @throws org.sd3j.ModelLoadException for a LoRA file that cannot be read, has keys of no known layout or does
     *                                     not fit this model (naming the first offending tensor and its shapes)
     */
    public static MmditDenoiser load(Path checkpoint, OnnxOptions sessionConfig, MmditGraph.Attention attention,
                                     List<LoraRequest> loras) {
        Checks.notNull(loras, "loras");
        long start = System.nanoTime();
        TensorSource source = Safetensors.open(checkpoint);
        try {
            boolean half = MmditWeights.of(source, checkpoint).computeType() == ElementType.FLOAT16;
            MmditWeights weights = MmditWeights.of(source, checkpoint, ElementType.FLOAT);
            MmditConfig config = MmditConfig.infer(weights);
            List<MergedLora> merged = List.of();
            if (!loras.isEmpty()) {
                LoraPlacement.Placed placed = LoraPlacement.place(loras, LoraComponent.MMDIT,
                        MmditModules.linearShapes(weights), CheckpointLocators.mmdit(weights));
                source = MergedTensorSource.of(source, placed.adapters());
                weights = MmditWeights.of(source, checkpoint, ElementType.FLOAT);
                merged = placed.merged();
                for (MergedLora m : merged) {
                    LOG.info("Merged LoRA {} (weight {}) into {} MMDiT weights", m.file(), m.weight(), m.applied());
                }
            }
            if (half) {
                weights = weights.keepingStoredType();
            }
            MmditDenoiser d = new MmditDenoiser(checkpoint.getFileName().toString(), source, weights, config,
                    sessionConfig, attention,
                    half ? GraphSession.WeightBinding.INPUTS : GraphSession.WeightBinding.INITIALIZERS, merged);
            LOG.info("Loaded {} MMDiT from {} ({}) in {} ms", config.variant(), checkpoint, weights.describeLayout(),
                    (System.nanoTime() - start) / 1_000_000);
            return d;
        } catch (RuntimeException e) {
            throw Closeables.closeAfterFailure(e, source);
        }
    }

    /** The graph for this checkpoint (for conversion to {@code model.onnx}); merged LoRAs included. */
    public OnnxGraph graph() {
        ensureOpen();
        return MmditGraph.build(config, weights, Set.of(), attention);
    }

    public MmditConfig config() {
        return config;
    }

    /** What merging the LoRAs given to {@link #load(Path, OnnxOptions, MmditGraph.Attention, List)} did. */
    public List<MergedLora> mergedLoras() {
        return merged;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int blockCount() {
        return config.depth();
    }

    @Override
    public Tensor velocity(Tensor latents, Tensor timesteps, Conditioning conditioning) {
        return run(main, Map.of(), latents, timesteps, conditioning);
    }

    @Override
    public Tensor velocitySkipping(Tensor latents, Tensor timesteps, Conditioning conditioning,
                                   Set<Integer> skippedBlocks) {
        return run(session(skippedBlocks, null), Map.of(), latents, timesteps, conditioning);
    }

    /**
     * Binds a generation's conditioning: context and pooled are handed to ONNX Runtime once, the latents and
     * timestep tensors passed on each step are wrapped once, and the velocity is written into the caller's tensor
     * (an ONNX Runtime pinned output). {@link BoundDenoiser#abort()} terminates a run in flight.
     */
    @Override
    public BoundDenoiser bind(Conditioning conditioning, Set<Integer> skippedBlocks) {
        return bind(session(skippedBlocks, null), Map.of(), conditioning);
    }

    /**
     * A view of this denoiser with {@code loras} applied per run (switchable LoRA; see the class comment). The LoRA
     * files are read now; the graph for their set of adapted weights is built on first use and kept.
     *
     * @throws org.sd3j.ModelLoadException for a file that cannot be read, has keys of no known layout or does not
     *                                     fit this model (naming the first offending tensor and its shapes)
     */
    @Override
    public Applied<Denoiser> withLoras(List<LoraRequest> loras) {
        ensureOpen();
        LoraPlacement.Placed placed = LoraPlacement.place(loras, LoraComponent.MMDIT,
                MmditModules.linearShapes(weights), CheckpointLocators.mmdit(weights));
        LoraInputs inputs = LoraInputs.of(placed.adapters());
        return new Applied<>(inputs.isEmpty() ? this : new Adapted(inputs), placed.parts());
    }

    /** The session of a graph variant; {@code lora} null or empty for none. */
    private GraphSession session(Set<Integer> skipped, LoraInputs lora) {
        ensureOpen();
        Set<String> adapted = lora == null ? Set.of() : lora.keys();
        Set<Integer> blocks = Set.copyOf(new TreeSet<>(skipped));
        if (blocks.isEmpty() && adapted.isEmpty()) {
            return main;
        }
        return variants.computeIfAbsent(new Variant(blocks, adapted), v -> GraphSession.create(MmditGraph.build(
                config, weights, v.skipped(), attention, v.adapted().isEmpty() ? MmditGraph.LinearAdapter.NONE
                        : LoraInputs.graphInputs(v.adapted(), lora.shapes())), sessionConfig, binding));
    }

    private BoundDenoiser bind(GraphSession s, Map<String, Tensor> lora, Conditioning conditioning) {
        return MmditBinding.bind(s, present(s, lora), conditioning, (latents, timesteps) -> MmditInputs.check(config, latents,
                timesteps, conditioning));
    }

    private Tensor run(GraphSession session, Map<String, Tensor> lora, Tensor latents, Tensor timesteps,
                       Conditioning c) {
        ensureOpen();
        MmditInputs.check(config, latents, timesteps, c);
        Map<String, Tensor> in = new LinkedHashMap<>(present(session, lora));
        in.put(MmditGraph.LATENTS, latents);
        in.put(MmditGraph.TIMESTEP, timesteps);
        in.put(MmditGraph.CONTEXT, c.context());
        in.put(MmditGraph.POOLED, c.pooled());
        return session.run(in).get(MmditGraph.OUTPUT);
    }

    /** The adapter inputs {@code s} has: a graph that skips blocks has none for their weights. */
    private static Map<String, Tensor> present(GraphSession s, Map<String, Tensor> lora) {
        if (lora.isEmpty()) {
            return lora;
        }
        Map<String, Tensor> out = new LinkedHashMap<>(lora);
        out.keySet().retainAll(s.inputShapes().keySet());
        return out;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("denoiser " + name + " is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<AutoCloseable> all = new ArrayList<>(variants.values());
        all.add(main);
        all.add(source);
        Closeables.closeAll(all);
    }

    @Override
    public String toString() {
        return "MmditDenoiser[" + name + ", " + config.variant() + "]";
    }

    /** This denoiser with one generation's LoRAs as graph inputs. Immutable; borrows the denoiser. */
    private final class Adapted implements BlockSkippingDenoiser, BindingDenoiser {
        private final LoraInputs lora;

        Adapted(LoraInputs lora) {
            this.lora = lora;
        }

        @Override
        public Tensor velocity(Tensor latents, Tensor timesteps, Conditioning conditioning) {
            return run(session(Set.of(), lora), lora.tensors(), latents, timesteps, conditioning);
        }

        @Override
        public Tensor velocitySkipping(Tensor latents, Tensor timesteps, Conditioning conditioning,
                                       Set<Integer> skippedBlocks) {
            return run(session(skippedBlocks, lora), lora.tensors(), latents, timesteps, conditioning);
        }

        @Override
        public BoundDenoiser bind(Conditioning conditioning, Set<Integer> skippedBlocks) {
            return MmditDenoiser.this.bind(session(skippedBlocks, lora), lora.tensors(), conditioning);
        }

        @Override
        public int blockCount() {
            return config.depth();
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String toString() {
            return "MmditDenoiser[" + name + ", " + config.variant() + ", LoRA on " + lora.keys().size()
                    + " weights]";
        }
    }
}
