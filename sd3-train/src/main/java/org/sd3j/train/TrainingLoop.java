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
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.checkpoint.TrainingCheckpoint;
import org.sd3j.train.data.BatchIterator;
import org.sd3j.train.data.CachedDataset;
import org.sd3j.train.data.IterationState;
import org.sd3j.train.data.TrainingBatch;
import org.sd3j.train.optim.AdamW;
import org.sd3j.train.optim.Ema;
import org.sd3j.train.optim.GradientAccumulator;
import org.sd3j.train.optim.GradientClipping;
import org.sd3j.train.step.RectifiedFlowStep;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rectified-flow training loop shared by {@link LoraTrainer} and {@link FullParameterTrainer}: batches from a
 * {@link CachedDataset} (assembled into buffers reused step after step), seeded per-step noise and timesteps, the step graph (loss and gradients into buffers bound
 * once per batch shape), accumulation, clipping, AdamW on the parameter tensors in place, an optional EMA, and
 * atomic resumable checkpoints. Borrows the session; {@link #close()} releases only its bindings. Not thread-safe.
 */
final class TrainingLoop implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingLoop.class);

    private final TrainingSettings settings;
    private final GraphSession session;
    private final Path checkpointFile;
    private final Map<String, Tensor> parameters;
    /** Step-graph input name -> parameter name. */
    private final Map<String, String> parameterOf;
    private final List<String> trainableInputs;
    private final AdamW optimizer;
    private final Ema ema;
    private final Map<List<Integer>, Buffers> buffers = new HashMap<>();

    /**
     * @param parameters      the trained tensors by name, updated in place
     * @param trainableInputs the step graph's inputs fed from them, in its output order
     * @param parameterOf     step-graph input name -> parameter name
     */
    TrainingLoop(TrainingSettings settings, GraphSession session, Path checkpointFile, Map<String, Tensor> parameters,
                 List<String> trainableInputs, Map<String, String> parameterOf) {
        this.settings = settings;
        this.session = session;
        this.checkpointFile = checkpointFile;
        this.parameters = parameters;
        this.trainableInputs = trainableInputs;
        this.parameterOf = parameterOf;
        this.optimizer = AdamW.create(parameters, settings.optimizer());
        this.ema = settings.emaDecay() > 0 ? Ema.create(parameters, settings.emaDecay()) : null;
    }

    Optional<Map<String, Tensor>> emaWeights() {
        return ema == null ? Optional.empty() : Optional.of(ema.weights());
    }

    /**
     * Trains until {@link LoraTrainingSettings#steps()} steps are done, continuing from the checkpoint in
     * {@link LoraTrainingSettings#checkpointDir()} when there is one. Ends early, after a checkpoint of the step just
     * done, when {@link TrainingListener#stopRequested()} says so; calling again (or in a new process) resumes there.
     *
     * @return the losses of the steps this call ran, in order
     * @throws TrainingDivergedException when a loss or gradient is not finite (the last good checkpoint stays)
     */
    List<Double> train(CachedDataset data, TrainingListener listener) {
        Checks.notNull(data, "data");
        Checks.notNull(listener, "listener");
        long step = 0;
        IterationState position = IterationState.START;
        if (Files.isRegularFile(checkpointFile)) {
            TrainingCheckpoint c = TrainingCheckpoint.load(checkpointFile);
            restore(c);
            step = c.step();
            position = new IterationState(Math.toIntExact(c.rngState().get("data.epoch")),
                    Math.toIntExact(c.rngState().get("data.index")));
            LOG.info("Resuming from {} at step {}", checkpointFile, step);
        }
        // Each batch is consumed by its step before the next is read, so the iterator may overwrite its tensors.
        BatchIterator batches = data.reusingIterator(position);
        listener.onStart(step, settings.steps());
        GradientAccumulator accumulator = settings.accumulation() > 1
                ? GradientAccumulator.create(parameters) : null;
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
            double norm = GradientClipping.globalNorm(grads);
            if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
                throw new TrainingDivergedException("Training diverged at step " + (step + 1) + ": loss " + loss
                        + ", gradient norm " + norm + "; the last good state is "
                        + (Files.isRegularFile(checkpointFile) ? checkpointFile : "the initial one (no checkpoint "
                        + "was written yet)") + ". Lower the learning rate or raise the warm-up");
            }
            double lr = settings.schedule().at(step);
            optimizer.step(grads, lr, settings.clipping().coefficient(norm)); // clipping folded into the update
            if (accumulator != null) {
                accumulator.reset();
            }
            if (ema != null) {
                ema.update(parameters);
            }
            step++;
            losses.add(loss);
            listener.onStep(new TrainingProgress(step, settings.steps(), loss, lr, norm,
                    Duration.ofNanos(System.nanoTime() - start)));
            boolean stop = listener.stopRequested();
            if (step % settings.checkpointEvery() == 0 || step == settings.steps() || stop) {
                save(step, batches.state());
                listener.onCheckpoint(step, checkpointFile);
            }
            if (stop && step < settings.steps()) {
                LOG.info("Stopped on request at step {} of {}; {} resumes from there", step, settings.steps(),
                        checkpointFile);
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
        for (int i = 0; i < trainableInputs.size(); i++) {
            inputs[5 + i] = parameters.get(parameterOf.get(trainableInputs.get(i)));
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
        new TrainingCheckpoint(step, parameters, optimizer.state(),
                ema == null ? Optional.empty() : Optional.of(ema.state()), rng, settings.toJson())
                .save(checkpointFile);
    }

    private void restore(TrainingCheckpoint c) {
        if (c.rngState().get("seed") == null || c.rngState().get("seed") != settings.seed()) {
            throw new IllegalArgumentException("settings.seed must be the checkpoint's " + c.rngState().get("seed")
                    + " to resume " + checkpointFile + ", found " + settings.seed());
        }
        for (Map.Entry<String, Tensor> e : c.parameters().entrySet()) {
            Tensor target = parameters.get(e.getKey());
            if (target == null || !target.hasShape(e.getValue().shape())) {
                throw new org.sd3j.ModelLoadException(checkpointFile, "the checkpoint's " + e.getKey() + " "
                        + e.getValue() + " does not fit this run's (" + target + "): the same model, targets and rank?");
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
            for (int i = 0; i < trainableInputs.size(); i++) {
                String p = parameterOf.get(trainableInputs.get(i));
                Tensor g = Tensor.zeros(parameters.get(p).shape());
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

    @Override
    public void close() {
        List<AutoCloseable> all = new ArrayList<>();
        for (Buffers b : buffers.values()) {
            all.add(b.binding);
        }
        buffers.clear();
        Closeables.closeAll(all);
    }
}
