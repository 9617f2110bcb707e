package org.sd3j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.sd3j.TrainingDivergedException;
import org.sd3j.internal.Checks;
import org.sd3j.internal.Closeables;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.data.PairedDataset;
import org.sd3j.train.lora.LoraWeights;
import org.sd3j.train.step.DpoStep;
import org.sd3j.train.step.RectifiedFlowStep;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Preference tuning of LoRA adapters on an SD3 MMDiT with Diffusion-DPO (SPEC §8, the third stage of SD3's
 * training): batches of preference pairs from a {@link PairedDataset}, one noise and timestep per pair, the
 * reference's errors from the frozen network (the adapters at scale 0) and the policy's loss and adapter gradients
 * from {@link DpoStep}'s graphs, then the same loop as {@link LoraTrainer}: accumulation, clipping, AdamW with a
 * schedule, an optional EMA, atomic resumable checkpoints (a resumed run repeats an uninterrupted one's losses
 * exactly) and a clear stop on divergence. The adapters start at B = 0, so the first loss is ln 2.
 *
 * <p>Owns the checkpoint mapping and both ONNX Runtime sessions: {@link #close()} releases them (idempotent). Not
 * thread-safe: one run at a time. The trained {@link #lora()} exports with {@code LoraFiles.write} like any LoRA.
 */
public final class DpoTrainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DpoTrainer.class);
    /** The checkpoint file in the settings' checkpoint folder. */
    public static final String CHECKPOINT_FILE = LoraTrainer.CHECKPOINT_FILE;

    private final DpoSettings settings;
    private final TensorSource source;
    private final StepSessions reference;
    private final StepSessions policy;
    private final LoraWeights lora;
    private final List<String> trainableInputs;
    private final Map<String, String> parameterOf;
    private final TrainingLoop loop;
    private boolean closed;

    private DpoTrainer(DpoSettings settings, TensorSource source, StepSessions reference, StepSessions policy,
                       LoraWeights lora, List<String> trainableInputs, Map<String, String> parameterOf) {
        this.settings = settings;
        this.source = source;
        this.reference = reference;
        this.policy = policy;
        this.lora = lora;
        this.trainableInputs = trainableInputs;
        this.parameterOf = parameterOf;
        TrainingSettings training = settings.lora().training();
        this.loop = new TrainingLoop(training.loopSettings(settings.toJson()), checkpointFile(), lora.parameters());
    }

    /**
     * Builds both graphs for the MMDiT of {@code checkpoint} (a single-file SD3 checkpoint in the original key
     * layout) and initializes the adapters.
     */
    public static DpoTrainer create(Path checkpoint, OnnxOptions onnxOptions, DpoSettings settings) {
        Checks.notNull(checkpoint, "checkpoint");
        Checks.notNull(onnxOptions, "onnxOptions");
        Checks.notNull(settings, "settings");
        TensorSource source = Safetensors.open(checkpoint);
        StepSessions reference = null;
        StepSessions policy = null;
        try {
            LoraSetup setup = LoraSetup.of(source, checkpoint, settings.lora());
            RectifiedFlowStep.StepGraph step = DpoStep.lora(setup.config(), setup.weights(), setup.adapter(),
                    settings.beta(), settings.reduction());
            reference = new StepSessions(DpoStep.reference(setup.config(), setup.weights(), settings.reduction()),
                    onnxOptions, GraphSession.WeightBinding.INITIALIZERS);
            policy = new StepSessions(step.graph(), onnxOptions, GraphSession.WeightBinding.INITIALIZERS);
            LOG.info("Diffusion-DPO of {} ({}): {} adapters of rank {}, {} parameters, beta {}", checkpoint,
                    setup.config().variant(), setup.lora().size(), settings.lora().lora().rank(),
                    setup.lora().parameterCount(), settings.beta());
            return new DpoTrainer(settings, source, reference, policy, setup.lora(), step.trainable(),
                    setup.parameterOf(step.trainable()));
        } catch (RuntimeException e) {
            throw Closeables.closeAfterFailure(e, policy, reference, source);
        }
    }

    /** The adapters being trained (live: updated in place by each step). */
    public LoraWeights lora() {
        return lora;
    }

    /** The EMA of the adapters, when the settings keep one. */
    public Optional<Map<String, Tensor>> emaWeights() {
        return loop.emaWeights();
    }

    public DpoSettings settings() {
        return settings;
    }

    /** Where checkpoints go. */
    public Path checkpointFile() {
        return settings.lora().checkpointDir().resolve(CHECKPOINT_FILE);
    }

    /**
     * Trains until the settings' steps are done, continuing from the checkpoint when there is one (see
     * {@link LoraTrainer#train}). A {@link DpoListener} also hears each step's {@link DpoMetrics}.
     *
     * @return the metrics of the steps this call ran, in order
     * @throws TrainingDivergedException when a loss or gradient is not finite (the last good checkpoint stays)
     */
    public List<DpoMetrics> train(PairedDataset data, TrainingListener listener) {
        ensureOpen();
        Checks.notNull(data, "data");
        Checks.notNull(listener, "listener");
        List<DpoMetrics> metrics = new ArrayList<>();
        try (DpoSteps steps = new DpoSteps(settings.lora().training(), reference, policy, data,
                new TrainableInputs(lora.parameters(), trainableInputs, parameterOf))) {
            loop.train(steps, new TrainingListener() {
                @Override
                public void onStart(long firstStep, long totalSteps) {
                    listener.onStart(firstStep, totalSteps);
                }

                @Override
                public void onStep(TrainingProgress progress) {
                    DpoMetrics m = steps.metrics(progress.step());
                    metrics.add(m);
                    listener.onStep(progress);
                    if (listener instanceof DpoListener dpo) {
                        dpo.onMetrics(m);
                    }
                }

                @Override
                public void onCheckpoint(long step, Path file) {
                    listener.onCheckpoint(step, file);
                }

                @Override
                public boolean stopRequested() {
                    return listener.stopRequested();
                }
            });
        }
        return metrics;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("DPO trainer is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<AutoCloseable> all = new ArrayList<>();
        all.add(policy);
        all.add(reference);
        all.add(source);
        Closeables.closeAll(all);
    }
}
