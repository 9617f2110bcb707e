package org.sd3j.train;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.sd3j.internal.Closeables;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.data.BatchIterator;
import org.sd3j.train.data.CachedDataset;
import org.sd3j.train.data.IterationState;
import org.sd3j.train.data.TrainingBatch;
import org.sd3j.train.step.RectifiedFlowStep;

/**
 * Rectified-flow micro-batches for {@link TrainingLoop} ({@link LoraTrainer}, {@link FullParameterTrainer}):
 * batches from a {@link CachedDataset}, seeded per-step noise and timesteps, and the step graph run into buffers
 * bound once per batch shape (to the sessions' one for that shape). Borrows the sessions; {@link #close()} releases
 * the bindings. Not thread-safe.
 */
final class RectifiedFlowSteps implements TrainingLoop.MicroSteps, AutoCloseable {
    private static final String EPOCH = "data.epoch";
    private static final String INDEX = "data.index";

    private final TrainingSettings settings;
    private final StepSessions sessions;
    private final CachedDataset data;
    private final TrainableInputs trainable;
    private final Map<List<Integer>, Buffers> buffers = new HashMap<>();
    private BatchIterator batches;
    private Buffers last;

    RectifiedFlowSteps(TrainingSettings settings, StepSessions sessions, CachedDataset data,
                       TrainableInputs trainable) {
        this.settings = settings;
        this.sessions = sessions;
        this.data = data;
        this.trainable = trainable;
    }

    @Override
    public void seek(Map<String, Long> position) {
        // Each batch is consumed by its step before the next is read, so the iterator may overwrite its tensors.
        batches = data.reusingIterator(iterationState(position));
    }

    @Override
    public Map<String, Long> position() {
        return position(batches.state());
    }

    /** A checkpoint's data position as an iteration state (the start for an empty one). */
    static IterationState iterationState(Map<String, Long> position) {
        return position.isEmpty() ? IterationState.START
                : new IterationState(Math.toIntExact(position.get(EPOCH)), Math.toIntExact(position.get(INDEX)));
    }

    /** An iteration state as a checkpoint's data position. */
    static Map<String, Long> position(IterationState state) {
        Map<String, Long> out = new LinkedHashMap<>();
        out.put(EPOCH, (long) state.epoch());
        out.put(INDEX, (long) state.index());
        return out;
    }

    /**
     * The generator of micro-step {@code micro} of step {@code step}: every draw of it (noise, timesteps) from a
     * generator of its own, so a resumed run draws the same numbers.
     */
    static SplittableRandom random(long seed, long step, int micro) {
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + step * 1_000_003L + micro);
    }

    @Override
    public double run(long step, int micro) {
        TrainingBatch batch = batches.next();
        Tensor x0 = batch.latents();
        Tensor context = batch.conditioning().context();
        List<Integer> shape = List.of(x0.dim(0), x0.dim(1), x0.dim(2), x0.dim(3), context.dim(1));
        Buffers b = buffers.computeIfAbsent(shape, s -> new Buffers(x0.shape(),
                sessions.forShape(RectifiedFlowStep.dimensions(x0, context))));
        SplittableRandom random = random(settings.seed(), step, micro);
        for (int i = 0; i < b.noise.size(); i++) {
            b.noise.set(i, (float) random.nextGaussian());
        }
        double[] t = settings.timesteps().sample(random, x0.dim(0));
        for (int i = 0; i < t.length; i++) {
            b.sigma.set(i, (float) t[i]);
        }
        Tensor[] inputs = new Tensor[5 + trainable.size()];
        inputs[0] = x0;
        inputs[1] = b.noise;
        inputs[2] = b.sigma;
        inputs[3] = context;
        inputs[4] = batch.conditioning().pooled();
        trainable.feed(inputs, 5);
        b.binding.run(b.outputs, inputs);
        last = b;
        return b.loss.get(0);
    }

    @Override
    public Map<String, Tensor> gradients() {
        return last.gradients;
    }

    @Override
    public double squaredGradientNorm() {
        return last.squares.get(0);
    }

    /** Buffers and the bound session for one batch shape. */
    private final class Buffers {
        final Tensor noise;
        final Tensor sigma;
        final Tensor loss = Tensor.zeros();
        final Map<String, Tensor> gradients;
        final Tensor squares;
        final Tensor[] outputs;
        final GraphSession.Binding binding;

        Buffers(int[] latentShape, GraphSession session) {
            noise = Tensor.zeros(latentShape);
            sigma = Tensor.zeros(latentShape[0]);
            List<String> outputNames = new ArrayList<>(List.of(RectifiedFlowStep.LOSS));
            outputs = new Tensor[2 + trainable.size()];
            outputs[0] = loss;
            gradients = trainable.gradientOutputs(outputs, 1, outputNames, RectifiedFlowStep.GRAD);
            squares = TrainableInputs.sumOfSquaresOutput(outputs, 1 + trainable.size(), outputNames);
            List<String> varying = new ArrayList<>(List.of(RectifiedFlowStep.X0, RectifiedFlowStep.NOISE,
                    RectifiedFlowStep.SIGMA, MmditGraph.CONTEXT, MmditGraph.POOLED));
            varying.addAll(trainable.names());
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
