package org.sd3j.train.optim;

import java.nio.FloatBuffer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import org.sd3j.tensor.Tensor;

/**
 * Gradient accumulation over micro-batches: {@link #add} sums each micro-batch's gradients into buffers allocated
 * once, {@link #average()} divides the sums by the number of micro-batches, {@link #reset()} starts the next
 * optimizer step. The average of N micro-batch gradients of a mean-reduced loss is the gradient of the loss over
 * the N micro-batches together (of equal size), which is what a larger batch would have given.
 *
 * <pre>{@code
 * accumulator.reset();
 * for (int i = 0; i < n; i++) accumulator.add(backward(microBatch(i)));
 * Map<String, Tensor> g = accumulator.average();
 * clipping.clip(g);
 * adamW.step(g, schedule.at(adamW.stepCount()));
 * }</pre>
 *
 * <p>Summation is float32 in micro-batch order, as torch accumulates {@code .grad}. The tensors returned by
 * {@link #average()} are this accumulator's own buffers: valid until the next {@link #reset()}. Not thread-safe.
 */
public final class GradientAccumulator {
    private final Map<String, Tensor> sums;
    private int count;
    private boolean averaged;

    private GradientAccumulator(Map<String, Tensor> sums) {
        this.sums = sums;
    }

    /**
     * An accumulator for gradients named and shaped like {@code parameters} (only their names and shapes are
     * read), with zeroed buffers.
     *
     * @throws IllegalArgumentException for a null or empty map
     */
    public static GradientAccumulator create(Map<String, Tensor> parameters) {
        Map<String, Tensor> params = TensorMaps.ordered(parameters, "parameters");
        if (params.isEmpty()) {
            throw new IllegalArgumentException("parameters must be non-empty, found 0 tensors");
        }
        Map<String, Tensor> sums = new LinkedHashMap<>();
        params.forEach((name, p) -> sums.put(name, Tensor.zeros(p.shape())));
        return new GradientAccumulator(Collections.unmodifiableMap(sums));
    }

    /**
     * Adds one micro-batch's gradients to the sums (they are only read).
     *
     * @throws IllegalArgumentException for missing, extra or misshapen gradients (nothing is added then)
     * @throws IllegalStateException    after {@link #average()} and before {@link #reset()}
     */
    public void add(Map<String, Tensor> gradients) {
        if (averaged) {
            throw new IllegalStateException("add after average(): call reset() to start the next step");
        }
        TensorMaps.requireSameLayout(sums, gradients, "gradients");
        for (Map.Entry<String, Tensor> e : sums.entrySet()) {
            FloatBuffer s = e.getValue().asFloatBuffer();
            FloatBuffer g = gradients.get(e.getKey()).asFloatBuffer();
            int n = s.limit();
            for (int i = 0; i < n; i++) {
                s.put(i, s.get(i) + g.get(i));
            }
        }
        count++;
    }

    /** Micro-batches added since the last reset. */
    public int count() {
        return count;
    }

    /**
     * Divides the sums by {@link #count()} in place (once; later calls return the same averages) and returns
     * them: an unmodifiable map of this accumulator's buffers, in the parameters' order, valid until
     * {@link #reset()}.
     *
     * @throws IllegalStateException if nothing was added
     */
    public Map<String, Tensor> average() {
        if (count == 0) {
            throw new IllegalStateException("average() needs at least one add(), found 0 micro-batches");
        }
        if (!averaged) {
            float n = count;
            for (Tensor s : sums.values()) {
                FloatBuffer b = s.asFloatBuffer();
                int size = b.limit();
                for (int i = 0; i < size; i++) {
                    b.put(i, b.get(i) / n);
                }
            }
            averaged = true;
        }
        return sums;
    }

    /** Zeroes the sums for the next optimizer step. */
    public void reset() {
        for (Tensor s : sums.values()) {
            s.fill(0f);
        }
        count = 0;
        averaged = false;
    }
}
