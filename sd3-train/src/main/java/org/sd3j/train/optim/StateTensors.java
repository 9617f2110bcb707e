package org.sd3j.train.optim;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * The exportable state of a stateful training component ({@link AdamW}, {@link Ema}): a counter and named float
 * tensors, ready to be written into a checkpoint and handed back on resume.
 *
 * <p>Ownership: a {@code StateTensors} returned by {@code state()} holds tensors its component owns, so that a
 * checkpoint can be written without allocating: live views of {@link Ema}'s buffers, which change with its next
 * update, and {@link AdamW}'s snapshot of its moments, refilled by its next {@code state()}. Call {@link #copy()}
 * to keep them. Importing ({@code loadState}) copies values in and never keeps the
 * given tensors. The map is unmodifiable and keeps its order.
 *
 * @param step    how many updates produced this state (AdamW's step count, the EMA's update count); {@code >= 0}
 * @param tensors state tensors by name, in a stable order; names are documented by each component
 */
public record StateTensors(long step, Map<String, Tensor> tensors) {

    /**
     * @throws IllegalArgumentException if {@code step < 0} or {@code tensors} (or one of its keys or values) is
     *                                  null
     */
    public StateTensors {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, found " + step);
        }
        Checks.notNull(tensors, "tensors");
        Map<String, Tensor> copy = new LinkedHashMap<>();
        tensors.forEach((name, t) -> copy.put(Checks.notNull(name, "tensor name"),
                Checks.notNull(t, "tensors['" + name + "']")));
        tensors = Collections.unmodifiableMap(copy);
    }

    /** A deep copy: new tensors with the same values, independent of the component that exported them. */
    public StateTensors copy() {
        Map<String, Tensor> copy = new LinkedHashMap<>();
        tensors.forEach((name, t) -> copy.put(name, t.copy()));
        return new StateTensors(step, copy);
    }
}
