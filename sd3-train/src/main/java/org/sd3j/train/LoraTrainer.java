package org.sd3j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.sd3j.TrainingDivergedException;
import org.sd3j.internal.Checks;
import org.sd3j.internal.Closeables;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.data.CachedDataset;
import org.sd3j.train.lora.LinearLayers;
import org.sd3j.train.lora.LoraWeights;
import org.sd3j.train.optim.AdamW;
import org.sd3j.train.step.LoraGraphAdapter;
import org.sd3j.train.step.RectifiedFlowStep;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rectified-flow LoRA training of an SD3 MMDiT (SPEC §7): batches from a {@link CachedDataset}, timesteps from a
 * {@link org.sd3j.train.step.TimestepSampler}, the forward and backward pass as one ONNX Runtime graph
 * ({@link RectifiedFlowStep}), then gradient accumulation, clipping, AdamW with a schedule and an optional EMA.
 *
 * <p>Reproducible and resumable: every random draw of step n (noise, timesteps) comes from a generator seeded by
 * (seed, n), the batch order from the dataset's own seeded iteration, so a run resumed from a checkpoint continues
 * with exactly the losses of an uninterrupted one. Checkpoints are written atomically every
 * {@link LoraTrainingSettings#checkpointEvery()} steps and at the end; a non-finite loss or gradient stops the run
 * with a {@link TrainingDivergedException} and leaves the last good checkpoint in place.
 *
 * <p>The step's buffers (noise, timesteps, loss, gradients) are allocated once per batch shape and reused; the
 * adapters are updated in place. Owns the checkpoint mapping and its ONNX Runtime sessions: {@link #close()}
 * releases them (idempotent). Not thread-safe: one training run at a time.
 */
public final class LoraTrainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LoraTrainer.class);
    /** The checkpoint file in {@link LoraTrainingSettings#checkpointDir()}. */
    public static final String CHECKPOINT_FILE = "checkpoint.safetensors";

    private final LoraTrainingSettings settings;
    private final TensorSource source;
    private final StepSessions sessions;
    private final org.sd3j.onnx.graph.OnnxGraph stepGraph;
    private final LoraWeights lora;
    private final List<String> trainableInputs;
    private final Map<String, String> parameterOf;
    private final TrainingLoop loop;
    private boolean closed;

    private LoraTrainer(LoraTrainingSettings settings, TensorSource source, StepSessions sessions,
                        org.sd3j.onnx.graph.OnnxGraph stepGraph, LoraWeights lora, Map<String, String> parameterOf,
                        List<String> trainableInputs) {
        this.settings = settings;
        this.source = source;
        this.sessions = sessions;
        this.stepGraph = stepGraph;
        this.lora = lora;
        this.trainableInputs = trainableInputs;
        // parameterOf: graph input -> LoRA parameter (the graph names adapters by checkpoint key, files by module).
        this.parameterOf = parameterOf;
        this.loop = new TrainingLoop(settings.training().loopSettings(settings.training().toJson()), checkpointFile(),
                lora.parameters());
    }

    /**
     * Builds the step graph for the MMDiT of {@code checkpoint} (a single-file SD3 checkpoint in the original key
     * layout, with or without the {@code model.diffusion_model.} prefix) and initializes the adapters.
     */
    public static LoraTrainer create(Path checkpoint, OnnxOptions onnxOptions, LoraTrainingSettings settings) {
        Checks.notNull(checkpoint, "checkpoint");
        Checks.notNull(onnxOptions, "onnxOptions");
        Checks.notNull(settings, "settings");
        TensorSource source = Safetensors.open(checkpoint);
        StepSessions sessions = null;
        try {
            LoraSetup setup = LoraSetup.of(source, checkpoint, settings);
            MmditWeights weights = setup.weights();
            MmditConfig cfg = setup.config();
            LoraWeights lora = setup.lora();
            List<String> keys = List.copyOf(lora.keys());
            RectifiedFlowStep.StepGraph step = RectifiedFlowStep.lora(cfg, weights, setup.adapter(), settings.loss());
            Map<String, String> parameterOf = setup.parameterOf(step.trainable());
            sessions = new StepSessions(step.graph(), onnxOptions, GraphSession.WeightBinding.INITIALIZERS);
            LOG.info("LoRA training of {} ({}): {} adapters of rank {}, {} parameters", checkpoint, cfg.variant(),
                    keys.size(), settings.lora().rank(), lora.parameterCount());
            return new LoraTrainer(settings, source, sessions, step.graph(), lora, parameterOf, step.trainable());
        } catch (RuntimeException e) {
            throw Closeables.closeAfterFailure(e, sessions, source);
        }
    }

    /**
     * Checks, from the tensor headers alone, what {@link #create} would refuse about {@code checkpoint}: no MMDiT, a
     * key layout other than the original one, targets that select no Linear module. Milliseconds whatever the
     * checkpoint's size, so a caller can fail before slow work it does first (precomputing a dataset).
     *
     * @throws IllegalArgumentException for another key layout or targets that select nothing
     * @throws org.sd3j.ModelLoadException if the file cannot be read or holds no SD3 MMDiT
     */
    public static void check(Path checkpoint, LoraTrainingSettings settings) {
        Checks.notNull(checkpoint, "checkpoint");
        Checks.notNull(settings, "settings");
        try (TensorSource source = Safetensors.open(checkpoint)) {
            settings.targets().select(LinearLayers.of(trainableWeights(source, checkpoint)));
        }
    }

    static MmditWeights trainableWeights(TensorSource source, Path checkpoint) {
        MmditWeights weights = MmditWeights.of(source, checkpoint, ElementType.FLOAT);
        if (weights.layout() != MmditWeights.Layout.ORIGINAL) {
            throw new IllegalArgumentException("checkpoint must use SD3's original key layout for LoRA training,"
                    + " found " + weights.describeLayout() + " in " + checkpoint);
        }
        return weights;
    }

    /** The adapters being trained (live: updated in place by each step). */
    public LoraWeights lora() {
        return lora;
    }

    /** The EMA of the adapters, when the settings keep one. */
    public Optional<Map<String, Tensor>> emaWeights() {
        return loop.emaWeights();
    }

    /**
     * Saves the step graph for inspection (Netron, onnx tools): {@code modelFile} plus {@code <modelFile>_data}
     * with the frozen weights. Inputs {@code x0}, {@code noise} {@code [B, 16, h, w]}, {@code sigma} {@code [B]},
     * {@code encoder_hidden_states}, {@code pooled_projections} and each adapter's
     * {@code <checkpoint key>.lora_A.weight} {@code [r, in]} / {@code .lora_B.weight} {@code [out, r]}; outputs
     * {@code loss} and {@code grad.<input>} for each adapter input.
     */
    public void exportStepGraph(Path modelFile) {
        ensureOpen();
        stepGraph.save(Checks.notNull(modelFile, "modelFile"));
    }

    /** The step graph's adapter input names (checkpoint keys with {@code .lora_A.weight} / {@code .lora_B.weight}). */
    public List<String> stepGraphTrainableInputs() {
        return trainableInputs;
    }

    /** Where checkpoints go. */
    public Path checkpointFile() {
        return settings.checkpointDir().resolve(CHECKPOINT_FILE);
    }

    /**
     * Trains until {@link LoraTrainingSettings#steps()} steps are done, continuing from the checkpoint in
     * {@link LoraTrainingSettings#checkpointDir()} when there is one. Ends early, after a checkpoint of the step just
     * done, when {@link TrainingListener#stopRequested()} says so; calling again (or in a new process) resumes there.
     *
     * @return the losses of the steps this call ran, in order
     * @throws TrainingDivergedException when a loss or gradient is not finite (the last good checkpoint stays)
     */
    public List<Double> train(CachedDataset data, TrainingListener listener) {
        ensureOpen();
        Checks.notNull(data, "data");
        try (RectifiedFlowSteps steps = new RectifiedFlowSteps(settings.training(), sessions, data,
                new TrainableInputs(lora.parameters(), trainableInputs, parameterOf))) {
            return loop.train(steps, listener);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("LoRA trainer is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<AutoCloseable> all = new ArrayList<>();
        all.add(sessions);
        all.add(source);
        Closeables.closeAll(all);
    }
}
