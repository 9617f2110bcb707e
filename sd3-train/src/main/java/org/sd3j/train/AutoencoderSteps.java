package org.sd3j.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.step.AutoencoderStep;

/**
 * Autoencoder micro-batches for {@link TrainingLoop}: images in a seeded order, a fresh standard-normal sample
 * noise per micro-batch, and the step graph run into buffers bound once. Everything a micro-batch uses is a function
 * of {@code (seed, step, micro)}, so a resumed run needs no stored data position. Borrows the session;
 * {@link #close()} releases the binding. Not thread-safe.
 *
 * <p>Order: the images are shuffled once per epoch ({@link Collections#shuffle(List, Random)} with a
 * {@link Random} seeded from the seed and the epoch; both are specified to the bit) and read in that order across
 * micro-batches and steps, so every image is seen once per epoch and batches span epoch boundaries.
 */
final class AutoencoderSteps implements TrainingLoop.MicroSteps, AutoCloseable {
    private final long seed;
    private final int batchSize;
    private final int accumulation;
    private final List<byte[]> images;
    private final Tensor batch;
    private final Tensor noise;
    private final Tensor loss = Tensor.zeros();
    private final Tensor reconstruction = Tensor.zeros();
    private final Tensor kl = Tensor.zeros();
    private final Map<String, Tensor> gradients;
    private final Tensor[] outputs;
    private final Tensor[] inputs;
    private final GraphSession.Binding binding;
    private final Tensor squares;
    private int[] order;
    private long orderEpoch = -1;
    private double reconstructionSum;
    private double klSum;
    /** Per completed step: the mean reconstruction and KL terms of its micro-batches. */
    private final List<double[]> terms = new ArrayList<>();

    /**
     * @param images     interleaved RGB bytes of each image, all {@code width x height}
     * @param parameters the trained tensors by weight name, fed as the step graph's weight inputs
     * @param trainable  the step graph's weight inputs in its gradient output order
     */
    AutoencoderSteps(GraphSession session, AutoencoderTrainingSettings settings, int zChannels, int downscale,
                     List<byte[]> images, Map<String, Tensor> parameters, List<String> trainable) {
        this.seed = settings.seed();
        this.batchSize = settings.batchSize();
        this.accumulation = settings.accumulation();
        this.images = images;
        this.batch = Tensor.zeros(batchSize, 3, settings.height(), settings.width());
        this.noise = Tensor.zeros(batchSize, zChannels, settings.height() / downscale, settings.width() / downscale);
        List<String> outputNames = new ArrayList<>(List.of(AutoencoderStep.LOSS, AutoencoderStep.RECONSTRUCTION,
                AutoencoderStep.KL));
        TrainableInputs weights = TrainableInputs.sameNames(parameters, trainable);
        outputs = new Tensor[4 + trainable.size()];
        outputs[0] = loss;
        outputs[1] = reconstruction;
        outputs[2] = kl;
        gradients = weights.gradientOutputs(outputs, 3, outputNames, AutoencoderStep.GRAD);
        squares = TrainableInputs.sumOfSquaresOutput(outputs, 3 + trainable.size(), outputNames);
        // The weights are the same tensors every step (updated in place): fed once.
        inputs = new Tensor[2 + trainable.size()];
        inputs[0] = batch;
        inputs[1] = noise;
        weights.feed(inputs, 2);
        List<String> varying = new ArrayList<>(List.of(AutoencoderStep.IMAGES, AutoencoderStep.NOISE));
        varying.addAll(trainable);
        binding = session.bind(Map.of(), varying, outputNames);
    }

    @Override
    public void seek(Map<String, Long> position) {
        // Nothing to restore: the step number determines the images and the noise.
    }

    @Override
    public Map<String, Long> position() {
        return Map.of();
    }

    @Override
    public double run(long step, int micro) {
        long first = (step * accumulation + micro) * batchSize;
        int plane = batch.dim(2) * batch.dim(3);
        for (int b = 0; b < batchSize; b++) {
            byte[] rgb = images.get(imageAt(first + b));
            int base = b * 3 * plane;
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < plane; i++) {
                    batch.set(base + c * plane + i, (rgb[i * 3 + c] & 0xff) / 127.5f - 1f);
                }
            }
        }
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + step * 1_000_003L + micro);
        for (int i = 0; i < noise.size(); i++) {
            noise.set(i, (float) random.nextGaussian());
        }
        binding.run(outputs, inputs);
        if (micro == 0) {
            reconstructionSum = 0;
            klSum = 0;
        }
        reconstructionSum += reconstruction.get(0);
        klSum += kl.get(0);
        if (micro == accumulation - 1) {
            terms.add(new double[] {reconstructionSum / accumulation, klSum / accumulation});
        }
        return loss.get(0);
    }

    /** The image at position {@code k} of the endless seeded order. */
    private int imageAt(long k) {
        long epoch = k / images.size();
        if (epoch != orderEpoch) {
            List<Integer> shuffled = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                shuffled.add(i);
            }
            Collections.shuffle(shuffled, new Random(seed * 31 + epoch));
            order = shuffled.stream().mapToInt(Integer::intValue).toArray();
            orderEpoch = epoch;
        }
        return order[(int) (k % images.size())];
    }

    @Override
    public Map<String, Tensor> gradients() {
        return gradients;
    }

    @Override
    public double squaredGradientNorm() {
        return squares.get(0);
    }

    /** {reconstruction, KL} of each step run so far, averaged over its micro-batches. */
    List<double[]> terms() {
        return terms;
    }

    @Override
    public void close() {
        binding.close();
    }
}
