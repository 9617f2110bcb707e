package org.sd3j.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

import org.sd3j.TrainingDivergedException;
import org.sd3j.internal.Checks;
import org.sd3j.internal.Closeables;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.checkpoint.TrainingCheckpoint;
import org.sd3j.train.data.BatchIterator;
import org.sd3j.train.data.CachedDataset;
import org.sd3j.train.data.IterationState;
import org.sd3j.train.data.TrainingBatch;
import org.sd3j.train.lora.LinearLayers;
import org.sd3j.train.lora.LoraWeights;
import org.sd3j.train.optim.AdamW;
import org.sd3j.train.optim.Ema;
import org.sd3j.train.optim.GradientAccumulator;
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
    private final GraphSession session;
    private final org.sd3j.onnx.graph.OnnxGraph stepGraph;
    private final LoraWeights lora;
    /** Graph input name -> LoRA parameter name (the graph names adapters by checkpoint key, files by module). */
    private final Map<String, String> parameterOf;
    private final List<String> trainableInputs;
    private final AdamW optimizer;
    private final Ema ema;
    private final Map<List<Integer>, Buffers> buffers = new HashMap<>();
    private boolean closed;

    private LoraTrainer(LoraTrainingSettings settings, TensorSource source, GraphSession session,
                        org.sd3j.onnx.graph.OnnxGraph stepGraph, LoraWeights lora, Map<String, String> parameterOf,
                        List<String> trainableInputs) {
        this.settings = settings;
        this.source = source;
        this.session = session;
        this.stepGraph = stepGraph;
        this.lora = lora;
        this.parameterOf = parameterOf;
        this.trainableInputs = trainableInputs;
        this.optimizer = AdamW.create(lora.parameters(), settings.optimizer());
        this.ema = settings.emaDecay() > 0 ? Ema.create(lora.parameters(), settings.emaDecay()) : null;
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
        GraphSession session = null;
        try {
            MmditWeights weights = trainableWeights(source, checkpoint);
            MmditConfig cfg = MmditConfig.infer(weights);
            Map<String, long[]> shapes = LinearLayers.of(weights);
            List<String> keys = settings.targets().select(shapes);
            LoraWeights lora = LoraWeights.initialize(keys, shapes, settings.lora());
            // The graph sees checkpoint keys (prefixed); adapters and files use the original module names.
            Map<String, String> moduleOf = new HashMap<>();
            for (String k : keys) {
                moduleOf.put(weights.keyOf(k + ".weight"), k);
            }
            LoraGraphAdapter adapter = new LoraGraphAdapter(moduleOf::containsKey, settings.lora().rank(),
                    settings.lora().alpha(), ElementType.FLOAT, k -> source.info(k + ".weight").shape());
            RectifiedFlowStep.StepGraph step = RectifiedFlowStep.lora(cfg, weights, adapter, settings.loss());
            Map<String, String> parameterOf = new LinkedHashMap<>();
            for (String input : step.trainable()) {
                String key = input.substring(0, input.length() - (input.endsWith(LoraGraphAdapter.A)
                        ? LoraGraphAdapter.A.length() : LoraGraphAdapter.B.length()));
                String module = moduleOf.get(key);
                parameterOf.put(input, input.endsWith(LoraGraphAdapter.A) ? LoraWeights.aName(module)
                        : LoraWeights.bName(module));
            }
            session = GraphSession.create(step.graph(), onnxOptions);
            LOG.info("LoRA training of {} ({}): {} adapters of rank {}, {} parameters", checkpoint, cfg.variant(),
                    keys.size(), settings.lora().rank(), lora.parameterCount());
            return new LoraTrainer(settings, source, session, step.graph(), lora, parameterOf, step.trainable());
        } catch (RuntimeException e) {
            throw Closeables.closeAfterFailure(e, session, source);
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

    private static MmditWeights trainableWeights(TensorSource source, Path checkpoint) {
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
        return ema == null ? Optional.empty() : Optional.of(ema.weights());
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
        Checks.notNull(data, "data");
        Checks.notNull(listener, "listener");
        ensureOpen();
        long step = 0;
        IterationState position = IterationState.START;
        if (Files.isRegularFile(checkpointFile())) {
            TrainingCheckpoint c = TrainingCheckpoint.load(checkpointFile());
            restore(c);
            step = c.step();
            position = new IterationState(Math.toIntExact(c.rngState().get("data.epoch")),
                    Math.toIntExact(c.rngState().get("data.index")));
            LOG.info("Resuming from {} at step {}", checkpointFile(), step);
        }
        BatchIterator batches = data.iterator(position);
        listener.onStart(step, settings.steps());
        GradientAccumulator accumulator = settings.accumulation() > 1
                ? GradientAccumulator.create(lora.parameters()) : null;
        List<Double> losses = new ArrayList<>();
        long start = System.nanoTime();
        while (step < settings.steps()) {
            double loss = 0;
            Map<String, Tensor> grads = null;
            for (int micro = 0; micro < settings.accumulation(); micro++) {
                Buffers b = forwardBackward(batches.next(), step, micro);
                loss += b.loss.get(0) / settings.accumulation();
                grads = b.gradients;
                if (accumulator != null) {
                    accumulator.add(grads);
                }
            }
            if (accumulator != null) {
                grads = accumulator.average();
            }
            double norm = settings.clipping().clip(grads);
            if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
                throw new TrainingDivergedException("Training diverged at step " + (step + 1) + ": loss " + loss
                        + ", gradient norm " + norm + "; the last good state is "
                        + (Files.isRegularFile(checkpointFile()) ? checkpointFile() : "the initial one (no checkpoint "
                        + "was written yet)") + ". Lower the learning rate or raise the warm-up");
            }
            double lr = settings.schedule().at(step);
            optimizer.step(grads, lr);
            if (accumulator != null) {
                accumulator.reset();
            }
            if (ema != null) {
                ema.update(lora.parameters());
            }
            step++;
            losses.add(loss);
            listener.onStep(new TrainingProgress(step, settings.steps(), loss, lr, norm,
                    Duration.ofNanos(System.nanoTime() - start)));
            boolean stop = listener.stopRequested();
            if (step % settings.checkpointEvery() == 0 || step == settings.steps() || stop) {
                save(step, batches.state());
                listener.onCheckpoint(step, checkpointFile());
            }
            if (stop && step < settings.steps()) {
                LOG.info("Stopped on request at step {} of {}; {} resumes from there", step, settings.steps(),
                        checkpointFile());
                break;
            }
        }
        return losses;
    }

    /** One micro-batch through the step graph; returns the reused buffers holding its loss and gradients. */
    private Buffers forwardBackward(TrainingBatch batch, long step, int micro) {
        Tensor x0 = batch.latents();
        Tensor context = batch.conditioning().context();
        List<Integer> shape = List.of(x0.dim(0), x0.dim(1), x0.dim(2), x0.dim(3), context.dim(1));
        Buffers b = buffers.computeIfAbsent(shape, s -> new Buffers(x0.shape()));
        // Every draw of this micro-step from a generator of its own: a resumed run draws the same numbers.
        SplittableRandom random = new SplittableRandom(settings.seed() * 0x9E3779B97F4A7C15L + step * 1_000_003L
                + micro);
        for (int i = 0; i < b.noise.size(); i++) {
            b.noise.set(i, (float) random.nextGaussian());
        }
        double[] t = settings.timesteps().sample(random, x0.dim(0));
        for (int i = 0; i < t.length; i++) {
            b.sigma.set(i, (float) t[i]);
        }
        Tensor[] inputs = new Tensor[5 + trainableInputs.size()];
        inputs[0] = x0;
        inputs[1] = b.noise;
        inputs[2] = b.sigma;
        inputs[3] = context;
        inputs[4] = batch.conditioning().pooled();
        Map<String, Tensor> params = lora.parameters();
        for (int i = 0; i < trainableInputs.size(); i++) {
            inputs[5 + i] = params.get(parameterOf.get(trainableInputs.get(i)));
        }
        b.binding.run(b.outputs, inputs);
        return b;
    }

    private void save(long step, IterationState position) {
        Map<String, Long> rng = new LinkedHashMap<>();
        rng.put("seed", settings.seed());
        rng.put("data.epoch", (long) position.epoch());
        rng.put("data.index", (long) position.index());
        try {
            Files.createDirectories(settings.checkpointDir());
        } catch (java.io.IOException e) {
            throw new org.sd3j.Sd3Exception("Cannot create " + settings.checkpointDir() + ": " + e.getMessage(), e);
        }
        new TrainingCheckpoint(step, lora.parameters(), optimizer.state(),
                ema == null ? Optional.empty() : Optional.of(ema.state()), rng, settings.toJson())
                .save(checkpointFile());
    }

    private void restore(TrainingCheckpoint c) {
        if (c.rngState().get("seed") == null || c.rngState().get("seed") != settings.seed()) {
            throw new IllegalArgumentException("settings.seed must be the checkpoint's " + c.rngState().get("seed")
                    + " to resume " + checkpointFile() + ", found " + settings.seed());
        }
        Map<String, Tensor> params = lora.parameters();
        for (Map.Entry<String, Tensor> e : c.parameters().entrySet()) {
            Tensor target = params.get(e.getKey());
            if (target == null || !target.hasShape(e.getValue().shape())) {
                throw new org.sd3j.ModelLoadException(checkpointFile(), "the checkpoint's " + e.getKey() + " "
                        + e.getValue() + " does not fit this run's adapters (" + target + "): same targets and rank?");
            }
            target.copyFrom(e.getValue());
        }
        optimizer.loadState(c.optimizer());
        if (ema != null && c.ema().isPresent()) {
            ema.loadState(c.ema().get());
        }
    }

    /** Buffers and the bound session for one batch shape. */
    private final class Buffers {
        final Tensor noise;
        final Tensor sigma;
        final Tensor loss = Tensor.zeros();
        final Map<String, Tensor> gradients = new LinkedHashMap<>();
        final Tensor[] outputs;
        final GraphSession.Binding binding;

        Buffers(int[] latentShape) {
            noise = Tensor.zeros(latentShape);
            sigma = Tensor.zeros(latentShape[0]);
            List<String> outputNames = new ArrayList<>(List.of(RectifiedFlowStep.LOSS));
            outputs = new Tensor[1 + trainableInputs.size()];
            outputs[0] = loss;
            Map<String, Tensor> params = lora.parameters();
            for (int i = 0; i < trainableInputs.size(); i++) {
                String p = parameterOf.get(trainableInputs.get(i));
                Tensor g = Tensor.zeros(params.get(p).shape());
                gradients.put(p, g);
                outputs[1 + i] = g;
                outputNames.add(RectifiedFlowStep.GRAD + trainableInputs.get(i));
            }
            List<String> varying = new ArrayList<>(List.of(RectifiedFlowStep.X0, RectifiedFlowStep.NOISE,
                    RectifiedFlowStep.SIGMA, MmditGraph.CONTEXT, MmditGraph.POOLED));
            varying.addAll(trainableInputs);
            binding = session.bind(Map.of(), varying, outputNames);
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
        for (Buffers b : buffers.values()) {
            all.add(b.binding);
        }
        all.add(session);
        all.add(source);
        Closeables.closeAll(all);
    }
}
