package org.sd3j.train;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.sd3j.internal.Closeables;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.data.BatchIterator;
import org.sd3j.train.data.PairedDataset;
import org.sd3j.train.data.TrainingBatch;
import org.sd3j.train.step.DpoStep;
import org.sd3j.train.step.RectifiedFlowStep;

/**
 * Diffusion-DPO micro-batches for {@link TrainingLoop}: batches of pairs from a {@link PairedDataset}, one seeded
 * noise and timestep per pair (repeated for its two images), the reference errors from the frozen graph, then the
 * policy's step graph, all into buffers bound once per batch shape. Keeps the step's metrics for {@link DpoTrainer}.
 * Borrows the sessions; {@link #close()} releases the bindings. Not thread-safe.
 */
final class DpoSteps implements TrainingLoop.MicroSteps, AutoCloseable {
    private final TrainingSettings settings;
    private final StepSessions reference;
    private final StepSessions policy;
    private final PairedDataset data;
    private final TrainableInputs trainable;
    private final Map<List<Integer>, Buffers> buffers = new HashMap<>();
    private BatchIterator batches;
    private Buffers last;
    /** Sums over the current optimizer step's micro-batches: loss, accuracy, margin, e_pw, e_pl, e_rw, e_rl. */
    private final double[] sums = new double[7];
    private int microBatches;

    DpoSteps(TrainingSettings settings, StepSessions reference, StepSessions policy, PairedDataset data,
             TrainableInputs trainable) {
        this.settings = settings;
        this.reference = reference;
        this.policy = policy;
        this.data = data;
        this.trainable = trainable;
    }

    @Override
    public void seek(Map<String, Long> position) {
        batches = data.reusingIterator(RectifiedFlowSteps.iterationState(position));
    }

    @Override
    public Map<String, Long> position() {
        return RectifiedFlowSteps.position(batches.state());
    }

    @Override
    public double run(long step, int micro) {
        if (micro == 0) {
            java.util.Arrays.fill(sums, 0);
            microBatches = 0;
        }
        TrainingBatch batch = batches.next();
        Tensor x0 = batch.latents();
        Tensor context = batch.conditioning().context();
        int pairs = x0.dim(0) / 2;
        List<Integer> shape = List.of(x0.dim(0), x0.dim(1), x0.dim(2), x0.dim(3), context.dim(1));
        Buffers b = buffers.computeIfAbsent(shape, s -> new Buffers(x0.shape(),
                RectifiedFlowStep.dimensions(x0, context)));
        SplittableRandom random = RectifiedFlowSteps.random(settings.seed(), step, micro);
        int perSample = b.noise.size() / x0.dim(0);
        for (int i = 0; i < pairs * perSample; i++) {
            float n = (float) random.nextGaussian();
            b.noise.set(i, n);
            b.noise.set(pairs * perSample + i, n);
        }
        double[] t = settings.timesteps().sample(random, pairs);
        for (int i = 0; i < pairs; i++) {
            b.sigma.set(i, (float) t[i]);
            b.sigma.set(pairs + i, (float) t[i]);
        }
        Tensor pooled = batch.conditioning().pooled();
        b.referenceBinding.run(new Tensor[] {b.referenceErrors}, new Tensor[] {x0, b.noise, b.sigma, context, pooled});
        Tensor[] inputs = new Tensor[6 + trainable.size()];
        inputs[0] = x0;
        inputs[1] = b.noise;
        inputs[2] = b.sigma;
        inputs[3] = context;
        inputs[4] = pooled;
        inputs[5] = b.referenceErrors;
        trainable.feed(inputs, 6);
        b.binding.run(b.outputs, inputs);
        last = b;
        double loss = b.loss.get(0);
        double accuracy = 0;
        double margin = 0;
        double[] errors = new double[4];
        for (int i = 0; i < pairs; i++) {
            double z = b.margin.get(i);
            accuracy += z > 0 ? 1 : z == 0 ? 0.5 : 0;
            margin += z;
            errors[0] += b.errors.get(i);
            errors[1] += b.errors.get(pairs + i);
            errors[2] += b.referenceErrors.get(i);
            errors[3] += b.referenceErrors.get(pairs + i);
        }
        sums[0] += loss;
        sums[1] += accuracy / pairs;
        sums[2] += margin / pairs;
        for (int k = 0; k < 4; k++) {
            sums[3 + k] += errors[k] / pairs;
        }
        microBatches++;
        return loss;
    }

    /** The metrics of the optimizer step whose micro-batches ran last. */
    DpoMetrics metrics(long step) {
        double n = microBatches;
        return new DpoMetrics(step, sums[0] / n, sums[1] / n, sums[2] / n, sums[3] / n, sums[4] / n, sums[5] / n,
                sums[6] / n);
    }

    @Override
    public Map<String, Tensor> gradients() {
        return last.gradients;
    }

    @Override
    public double squaredGradientNorm() {
        return last.squares.get(0);
    }

    /** Buffers and the bound sessions for one batch shape. */
    private final class Buffers {
        final Tensor noise;
        final Tensor sigma;
        final Tensor referenceErrors;
        final Tensor loss = Tensor.zeros();
        final Tensor margin;
        final Tensor errors;
        final Map<String, Tensor> gradients;
        final Tensor squares;
        final Tensor[] outputs;
        final GraphSession.Binding referenceBinding;
        final GraphSession.Binding binding;

        Buffers(int[] latentShape, Map<String, Long> dimensions) {
            int samples = latentShape[0];
            noise = Tensor.zeros(latentShape);
            sigma = Tensor.zeros(samples);
            referenceErrors = Tensor.zeros(samples);
            margin = Tensor.zeros(samples / 2);
            errors = Tensor.zeros(samples);
            List<String> outputNames = new ArrayList<>(List.of(DpoStep.LOSS, DpoStep.MARGIN, DpoStep.ERRORS));
            outputs = new Tensor[4 + trainable.size()];
            outputs[0] = loss;
            outputs[1] = margin;
            outputs[2] = errors;
            gradients = trainable.gradientOutputs(outputs, 3, outputNames, DpoStep.GRAD);
            squares = TrainableInputs.sumOfSquaresOutput(outputs, 3 + trainable.size(), outputNames);
            List<String> common = List.of(RectifiedFlowStep.X0, RectifiedFlowStep.NOISE, RectifiedFlowStep.SIGMA,
                    MmditGraph.CONTEXT, MmditGraph.POOLED);
            GraphSession.Binding ref = reference.forShape(dimensions).bind(Map.of(), common, List.of(DpoStep.ERRORS));
            try {
                List<String> varying = new ArrayList<>(common);
                varying.add(DpoStep.REFERENCE_ERRORS);
                varying.addAll(trainable.names());
                binding = policy.forShape(dimensions).bind(Map.of(), varying, outputNames);
            } catch (RuntimeException e) {
                throw Closeables.closeAfterFailure(e, ref);
            }
            referenceBinding = ref;
        }
    }

    @Override
    public void close() {
        List<AutoCloseable> all = new ArrayList<>();
        for (Buffers b : buffers.values()) {
            all.add(b.binding);
            all.add(b.referenceBinding);
        }
        buffers.clear();
        Closeables.closeAll(all);
    }
}
