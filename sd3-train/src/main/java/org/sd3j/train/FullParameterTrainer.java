package org.sd3j.train;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.sd3j.TrainingDivergedException;
import org.sd3j.internal.Checks;
import org.sd3j.internal.Closeables;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.graph.WeightData;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.data.CachedDataset;
import org.sd3j.train.step.RectifiedFlowStep;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rectified-flow training of every weight of an SD3 MMDiT ({@link RectifiedFlowStep#full}), e.g. a small model from
 * scratch: the same loop as {@link LoraTrainer} (reproducible, resumable, atomic checkpoints, a clear stop on
 * divergence), with the weights copied into writable float32 tensors that the step graph reads as inputs and AdamW
 * updates in place. A fused qkv's q, k and v rows train as three tensors ({@code <name>#q}, {@code #k}, {@code #v})
 * and are joined again by {@link #writeCheckpoint}. The last block's context q is not among them: its outputs reach
 * nothing (the block is pre-only), so the graph does not compute it, and the checkpoint keeps its rows as they were.
 *
 * <p>Owns the checkpoint mapping, its sessions and the copies; {@link #close()} releases them (idempotent). Not
 * thread-safe.
 */
public final class FullParameterTrainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FullParameterTrainer.class);
    private static final String[] QKV_PARTS = {"#q", "#k", "#v"};

    private final TrainingSettings settings;
    private final TensorSource source;
    private final StepSessions sessions;
    private final Map<String, Tensor> parameters;
    private final List<String> trainable;
    private final TrainingLoop loop;
    private boolean closed;

    private FullParameterTrainer(TrainingSettings settings, TensorSource source, StepSessions sessions,
                                 Map<String, Tensor> parameters, List<String> trainable) {
        this.settings = settings;
        this.source = source;
        this.sessions = sessions;
        this.parameters = parameters;
        this.trainable = trainable;
        this.loop = new TrainingLoop(settings.loopSettings(settings.toJson()), checkpointFile(), parameters);
    }

    /** Builds the step graph for the MMDiT of {@code checkpoint} (SD3's original key layout) and copies its weights. */
    public static FullParameterTrainer create(Path checkpoint, OnnxOptions onnxOptions, TrainingSettings settings) {
        Checks.notNull(checkpoint, "checkpoint");
        Checks.notNull(onnxOptions, "onnxOptions");
        Checks.notNull(settings, "settings");
        TensorSource source = Safetensors.open(checkpoint);
        StepSessions sessions = null;
        try {
            MmditWeights weights = MmditWeights.of(source, checkpoint, ElementType.FLOAT);
            if (weights.layout() != MmditWeights.Layout.ORIGINAL) {
                throw new IllegalArgumentException("checkpoint must use SD3's original key layout for training, found "
                        + weights.describeLayout() + " in " + checkpoint);
            }
            MmditConfig cfg = MmditConfig.infer(weights);
            RectifiedFlowStep.StepGraph step = RectifiedFlowStep.full(cfg, weights, settings.loss());
            Map<String, Tensor> parameters = new LinkedHashMap<>();
            long count = 0;
            for (String name : step.trainable()) {
                WeightData d = step.graph().weights().get(name);
                if (d.type() != ElementType.FLOAT) {
                    throw new IllegalArgumentException("weights must be float32 for full-parameter training, found "
                            + d.type() + " for " + name);
                }
                int[] shape = new int[d.shape().length];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = Math.toIntExact(d.shape()[i]);
                }
                Tensor copy = Tensor.zeros(shape); // writable: the checkpoint stays read-only and untouched
                copy.asFloatBuffer().put(d.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
                parameters.put(name, copy);
                count += copy.size();
            }
            sessions = new StepSessions(step.graph(), onnxOptions, GraphSession.WeightBinding.INPUTS);
            LOG.info("Full-parameter training of {} ({}): {} tensors, {} parameters", checkpoint, cfg.variant(),
                    parameters.size(), count);
            return new FullParameterTrainer(settings, source, sessions, Collections.unmodifiableMap(parameters),
                    step.trainable());
        } catch (RuntimeException e) {
            throw Closeables.closeAfterFailure(e, sessions, source);
        }
    }

    /** The trained tensors by step-graph weight name (live: updated in place by each step). */
    public Map<String, Tensor> parameters() {
        return parameters;
    }

    /** Where checkpoints go. */
    public Path checkpointFile() {
        return settings.checkpointDir().resolve(LoraTrainer.CHECKPOINT_FILE);
    }

    /**
     * Trains until {@link TrainingSettings#steps()} steps are done, resuming from the checkpoint when there is
     * one (see {@link LoraTrainer#train}).
     *
     * @return the losses of the steps this call ran
     * @throws TrainingDivergedException when a loss or gradient is not finite (the last good checkpoint stays)
     */
    public List<Double> train(CachedDataset data, TrainingListener listener) {
        ensureOpen();
        Checks.notNull(data, "data");
        try (RectifiedFlowSteps steps = new RectifiedFlowSteps(settings, sessions, data,
                TrainableInputs.sameNames(parameters, trainable))) {
            return loop.train(steps, listener);
        }
    }

    /**
     * Writes the model as a single-file checkpoint with the source's names: trained tensors (float32; a fused qkv
     * joined from its parts) and every other tensor of the source as it was (text encoders, VAE). Atomic.
     */
    public void writeCheckpoint(Path file, Map<String, String> metadata) {
        writeCheckpoint(file, metadata, false);
    }

    /**
     * The EMA of the trained tensors ({@link TrainingSettings#emaDecay()} {@code > 0}), live, else empty.
     */
    public Optional<Map<String, Tensor>> emaWeights() {
        ensureOpen();
        return loop.emaWeights();
    }

    /**
     * {@link #writeCheckpoint(Path, Map)} with the EMA weights instead of the raw ones when {@code ema} (what
     * diffusion models are usually sampled with).
     *
     * @throws IllegalStateException if {@code ema} and the run keeps no EMA
     */
    public void writeCheckpoint(Path file, Map<String, String> metadata, boolean ema) {
        ensureOpen();
        Checks.notNull(file, "file");
        Map<String, Tensor> parameters = this.parameters;
        if (ema) {
            parameters = loop.emaWeights().orElseThrow(() -> new IllegalStateException(
                    "the run keeps no EMA: set TrainingSettings.emaDecay > 0 to write EMA weights"));
        }
        SafetensorsWriter w = SafetensorsWriter.create();
        for (String name : source.names()) {
            long[] shape = source.info(name).shape();
            Tensor trained = parameters.get(name);
            if (trained != null) {
                w.add(name, DType.F32, shape, bytes(List.of(trained)));
            } else if (hasAnyPart(parameters, name)) {
                // A part the graph does not read (the last block's context q) was not trained: its rows stay.
                Tensor joined = source.toFloatTensor(name);
                int rows = joined.size() / QKV_PARTS.length;
                for (int p = 0; p < QKV_PARTS.length; p++) {
                    Tensor part = parameters.get(name + QKV_PARTS[p]);
                    if (part != null) {
                        joined.asFloatBuffer().put(p * rows, part.asFloatBuffer(), 0, rows);
                    }
                }
                w.add(name, DType.F32, shape, bytes(List.of(joined)));
            } else {
                ByteBuffer b = source.bytes(name);
                ByteBuffer copy = ByteBuffer.allocate(b.remaining());
                copy.put(b.duplicate()).flip();
                w.add(name, source.info(name).dtype(), shape, copy);
            }
        }
        metadata.forEach(w::metadata);
        w.write(file);
    }

    private static boolean hasAnyPart(Map<String, Tensor> parameters, String fusedName) {
        return Arrays.stream(QKV_PARTS).anyMatch(p -> parameters.containsKey(fusedName + p));
    }

    private static ByteBuffer bytes(List<Tensor> tensors) {
        int n = tensors.stream().mapToInt(Tensor::size).sum();
        ByteBuffer out = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (Tensor t : tensors) {
            for (int i = 0; i < t.size(); i++) {
                out.putFloat(t.get(i));
            }
        }
        return out.flip();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("full-parameter trainer is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Closeables.closeAll(List.of(sessions, source));
    }
}
