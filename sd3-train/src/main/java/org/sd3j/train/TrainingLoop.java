package org.sd3j.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.sd3j.TrainingDivergedException;
import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.checkpoint.TrainingCheckpoint;
import org.sd3j.train.optim.AdamW;
import org.sd3j.train.optim.AdamWSettings;
import org.sd3j.train.optim.Ema;
import org.sd3j.train.optim.GradientAccumulator;
import org.sd3j.train.optim.GradientClipping;
import org.sd3j.train.optim.StateTensors;
import org.sd3j.train.optim.LearningRateSchedule;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The optimization loop every trainer shares, whatever its step graph computes: micro-batches from a
 * {@link MicroSteps} (loss and gradients into its reused buffers), accumulation, clipping, AdamW on the parameter
 * tensors in place, an optional EMA, atomic resumable checkpoints that also keep the data position, and a clear
 * stop on divergence. Not thread-safe.
 */
final class TrainingLoop {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingLoop.class);

    /**
     * The loop's part of a run's configuration.
     *
     * @param configJson the whole run's configuration, stored in checkpoints
     */
    record Settings(AdamWSettings optimizer, LearningRateSchedule schedule, GradientClipping clipping,
                    int accumulation, long steps, long seed, Path checkpointDir, long checkpointEvery,
                    double emaDecay, String configJson) {
    }

    /**
     * What the loop trains on: one micro-batch's loss and gradients at a time. A step's micro-batches must be a
     * function of {@code (seed, step, micro)} and the data position, so that a resumed run repeats them.
     */
    interface MicroSteps {
        /**
         * Called once before the first step with the data position a checkpoint stored (the entries of
         * {@link #position()}), or with an empty map for a run from the start.
         */
        void seek(Map<String, Long> position);

        /** The data position after the steps run so far, stored with each checkpoint; names must not be "seed". */
        Map<String, Long> position();

        /**
         * Runs micro-batch {@code micro} of optimizer step {@code step} (both from 0).
         *
         * @return its loss; its gradients by parameter name are in {@link #gradients()}
         */
        double run(long step, int micro);

        /** The last run's gradients by parameter name: buffers reused by the next run. */
        Map<String, Tensor> gradients();

        /**
         * The squared global L2 norm of the last run's gradients, as the step graph summed it while making them
         * ({@link org.sd3j.train.step.GradientOutputs#SUM_OF_SQUARES}): no second pass over the gradients in memory.
         */
        double squaredGradientNorm();
    }

    private final Settings settings;
    private final Path checkpointFile;
    private final Map<String, Tensor> parameters;
    private final AdamW optimizer;
    private final Ema ema;

    /** @param parameters the trained tensors by name, updated in place */
    TrainingLoop(Settings settings, Path checkpointFile, Map<String, Tensor> parameters) {
        this.settings = settings;
        this.checkpointFile = checkpointFile;
        this.parameters = parameters;
        this.optimizer = AdamW.create(parameters, settings.optimizer());
        this.ema = settings.emaDecay() > 0 ? Ema.create(parameters, settings.emaDecay()) : null;
    }

    Optional<Map<String, Tensor>> emaWeights() {
        return ema == null ? Optional.empty() : Optional.of(ema.weights());
    }

    /**
     * Trains until {@link Settings#steps()} steps are done, continuing from the checkpoint file when there is one.
     * Ends early, after a checkpoint of the step just done, when {@link TrainingListener#stopRequested()} says so;
     * calling again (or in a new process) resumes there.
     *
     * @return the losses of the steps this call ran, in order
     * @throws TrainingDivergedException when a loss or gradient is not finite (the last good checkpoint stays)
     */
    List<Double> train(MicroSteps micro, TrainingListener listener) {
        Checks.notNull(micro, "micro");
        Checks.notNull(listener, "listener");
        long step = 0;
        Map<String, Long> position = Map.of();
        if (Files.isRegularFile(checkpointFile)) {
            TrainingCheckpoint c = TrainingCheckpoint.load(checkpointFile);
            restore(c);
            step = c.step();
            position = new LinkedHashMap<>(c.rngState());
            position.remove("seed");
            LOG.info("Resuming from {} at step {}", checkpointFile, step);
        }
        micro.seek(position);
        listener.onStart(step, settings.steps());
        GradientAccumulator accumulator = settings.accumulation() > 1
                ? GradientAccumulator.create(parameters) : null;
        List<Double> losses = new ArrayList<>();
        long start = System.nanoTime();
        while (step < settings.steps()) {
            double loss = 0;
            Map<String, Tensor> grads = null;
            for (int m = 0; m < settings.accumulation(); m++) {
                loss += micro.run(step, m) / settings.accumulation();
                grads = micro.gradients();
                if (accumulator != null) {
                    accumulator.add(grads);
                }
            }
            if (accumulator != null) {
                grads = accumulator.average();
            }
            // One micro-batch: the graph's sums of squares give the norm; accumulated ones need their average's.
            double norm = accumulator == null ? Math.sqrt(micro.squaredGradientNorm())
                    : GradientClipping.globalNorm(grads);
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
                save(step, micro.position());
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

    private void save(long step, Map<String, Long> position) {
        Map<String, Long> rng = new LinkedHashMap<>();
        rng.put("seed", settings.seed());
        rng.putAll(position);
        try {
            Files.createDirectories(settings.checkpointDir());
        } catch (java.io.IOException e) {
            throw new org.sd3j.Sd3Exception("Cannot create " + settings.checkpointDir() + ": " + e.getMessage(), e);
        }
        new TrainingCheckpoint(step, parameters, optimizer.state(),
                ema == null ? Optional.empty() : Optional.of(ema.state()), rng, settings.configJson())
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
        } else if (ema != null) {
            // A checkpoint of a run without an EMA: the average starts at the restored weights, not at the
            // initial ones it was created from (which would drag it back for thousands of steps).
            LOG.info("{} holds no EMA: the average starts at its weights", checkpointFile);
            ema.loadState(new StateTensors(0, parameters));
        }
    }
}
