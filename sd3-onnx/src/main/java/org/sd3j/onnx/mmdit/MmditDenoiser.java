package org.sd3j.onnx.mmdit;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import org.sd3j.conditioning.Conditioning;
import org.sd3j.internal.Closeables;
import org.sd3j.model.BindingDenoiser;
import org.sd3j.model.BlockSkippingDenoiser;
import org.sd3j.model.BoundDenoiser;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.graph.ElementType;
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
 * <p>Owns the checkpoint mapping and its sessions: {@link #close()} releases them (idempotent). Thread-safe.
 */
public final class MmditDenoiser implements BlockSkippingDenoiser, BindingDenoiser, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MmditDenoiser.class);

    private final String name;
    private final TensorSource source;
    private final MmditWeights weights;
    private final MmditConfig config;
    private final OnnxOptions sessionConfig;
    private final MmditGraph.Attention attention;
    private final GraphSession.WeightBinding binding;
    private final GraphSession main;
    private final Map<Set<Integer>, GraphSession> skipping = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private MmditDenoiser(String name, TensorSource source, MmditWeights weights, MmditConfig config,
                          OnnxOptions sessionConfig, MmditGraph.Attention attention,
                          GraphSession.WeightBinding binding) {
        this.name = name;
        this.source = source;
        this.weights = weights;
        this.config = config;
        this.sessionConfig = sessionConfig;
        this.attention = attention;
        this.binding = binding;
        this.main = GraphSession.create(MmditGraph.build(config, weights, Set.of(), attention), sessionConfig,
                binding);
    }

    /** Loads a checkpoint file, a sharded index or a diffusers {@code transformer/} folder. */
    /**
     * Loads with ONNX Runtime's fused attention ({@link MmditGraph.Attention#FUSED}: measured faster on CPU, and
     * what the CUDA provider accelerates best).
     */
    public static MmditDenoiser load(Path checkpoint, OnnxOptions sessionConfig) {
        return load(checkpoint, sessionConfig, MmditGraph.Attention.FUSED);
    }

    public static MmditDenoiser load(Path checkpoint, OnnxOptions sessionConfig, MmditGraph.Attention attention) {
        long start = System.nanoTime();
        TensorSource source = Safetensors.open(checkpoint);
        try {
            boolean half = MmditWeights.of(source, checkpoint).computeType() == ElementType.FLOAT16;
            MmditWeights weights = MmditWeights.of(source, checkpoint, ElementType.FLOAT);
            if (half) {
                weights = weights.keepingStoredType();
            }
            MmditConfig config = MmditConfig.infer(weights);
            MmditDenoiser d = new MmditDenoiser(checkpoint.getFileName().toString(), source, weights, config,
                    sessionConfig, attention,
                    half ? GraphSession.WeightBinding.INPUTS : GraphSession.WeightBinding.INITIALIZERS);
            LOG.info("Loaded {} MMDiT from {} ({}) in {} ms", config.variant(), checkpoint, weights.describeLayout(),
                    (System.nanoTime() - start) / 1_000_000);
            return d;
        } catch (RuntimeException e) {
            throw Closeables.closeAfterFailure(e, source);
        }
    }

    /** The graph for this checkpoint (for conversion to {@code model.onnx}). */
    public OnnxGraph graph() {
        ensureOpen();
        return MmditGraph.build(config, weights, Set.of(), attention);
    }

    public MmditConfig config() {
        return config;
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
        return run(main, latents, timesteps, conditioning);
    }

    @Override
    public Tensor velocitySkipping(Tensor latents, Tensor timesteps, Conditioning conditioning,
                                   Set<Integer> skippedBlocks) {
        Set<Integer> key = Set.copyOf(new TreeSet<>(skippedBlocks));
        ensureOpen();
        GraphSession s = skipping.computeIfAbsent(key,
                k -> GraphSession.create(MmditGraph.build(config, weights, k, attention), sessionConfig, binding));
        return run(s, latents, timesteps, conditioning);
    }

    /**
     * Binds a generation's conditioning: context and pooled are handed to ONNX Runtime once, the latents and
     * timestep tensors passed on each step are wrapped once, and the velocity is written into the caller's tensor
     * (an ONNX Runtime pinned output). {@link BoundDenoiser#abort()} terminates a run in flight.
     */
    @Override
    public BoundDenoiser bind(Conditioning conditioning, Set<Integer> skippedBlocks) {
        ensureOpen();
        GraphSession s = skippedBlocks.isEmpty() ? main : skipping.computeIfAbsent(
                Set.copyOf(new TreeSet<>(skippedBlocks)),
                k -> GraphSession.create(MmditGraph.build(config, weights, k, attention), sessionConfig, binding));
        return MmditBinding.bind(s, conditioning, (latents, timesteps) -> MmditInputs.check(config, latents,
                timesteps, conditioning));
    }

    private Tensor run(GraphSession session, Tensor latents, Tensor timesteps, Conditioning c) {
        ensureOpen();
        MmditInputs.check(config, latents, timesteps, c);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put(MmditGraph.LATENTS, latents);
        in.put(MmditGraph.TIMESTEP, timesteps);
        in.put(MmditGraph.CONTEXT, c.context());
        in.put(MmditGraph.POOLED, c.pooled());
        return session.run(in).get(MmditGraph.OUTPUT);
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
        List<AutoCloseable> all = new ArrayList<>(skipping.values());
        all.add(main);
        all.add(source);
        Closeables.closeAll(all);
    }

    @Override
    public String toString() {
        return "MmditDenoiser[" + name + ", " + config.variant() + "]";
    }
}
