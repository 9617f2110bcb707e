package org.sd3j.train.data;

import java.util.ArrayList;
import java.util.List;

import org.sd3j.tensor.Tensor;

/**
 * Where an assembled batch's tensors come from. {@link #allocating()} hands out new zero-filled tensors for every
 * batch, which then belong to the caller. {@link #reusing()} keeps one tensor per shape and hands it out again for
 * every later batch of that shape, to be overwritten: a training loop that consumes each batch before asking for
 * the next then allocates no large buffer per step, and a backend that wrapped a tensor once (see
 * {@link org.sd3j.onnx.graph.GraphSession.Binding}) keeps reading it without wrapping again.
 *
 * <p>Tensors are told apart by shape alone, so one batch must not take two tensors of one shape; a batch's latents
 * (rank 4), context (rank 3) and pooled vectors (rank 2) never share one. Not thread-safe: one per iterator.
 */
final class BatchBuffers {
    private final boolean reuse;
    // A few shapes at most (buckets times batch sizes): a list searched by shape allocates nothing per look-up.
    private final List<Tensor> tensors = new ArrayList<>();
    private float[] scratch = new float[0];

    private BatchBuffers(boolean reuse) {
        this.reuse = reuse;
    }

    /** New tensors for every batch. */
    static BatchBuffers allocating() {
        return new BatchBuffers(false);
    }

    /** One tensor per shape, overwritten by every batch of that shape. */
    static BatchBuffers reusing() {
        return new BatchBuffers(true);
    }

    boolean reuses() {
        return reuse;
    }

    /**
     * A tensor of {@code shape} for this batch. A reused one holds the previous batch's values: the caller
     * overwrites every element.
     */
    Tensor tensor(int... shape) {
        if (!reuse) {
            return Tensor.zeros(shape);
        }
        for (int i = 0; i < tensors.size(); i++) {
            if (tensors.get(i).hasShape(shape)) {
                return tensors.get(i);
            }
        }
        Tensor t = Tensor.zeros(shape);
        tensors.add(t);
        return t;
    }

    /**
     * A heap array of at least {@code size} floats for values computed on the way (latent noise); when reused,
     * it holds earlier values.
     */
    float[] scratch(int size) {
        if (!reuse) {
            return new float[size];
        }
        if (scratch.length < size) {
            scratch = new float[size];
        }
        return scratch;
    }
}
