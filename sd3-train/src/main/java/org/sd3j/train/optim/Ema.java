package org.sd3j.train.optim;

import java.nio.FloatBuffer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import org.sd3j.tensor.Tensor;

/**
 * Exponential moving average of trainable weights, updated after each optimizer step as diffusers'
 * {@code EMAModel} does with a fixed decay: {@code shadow -= (1 - decay) * (shadow - weight)}, element-wise in
 * float32. The shadow weights start as copies of the weights given to {@link #create}.
 *
 * <p><b>Memory.</b> One float per weight element, allocated at creation; {@link #update} allocates nothing.
 *
 * <p><b>State.</b> {@link #state()} exports the update count and the shadow weights under the parameters' own
 * names; {@link #loadState} imports them. {@link #weights()} are the live shadow tensors (for evaluation or
 * saving an averaged LoRA), {@link #copyTo} writes them into other tensors. Not thread-safe.
 */
public final class Ema {
    private final double decay;
    private final Map<String, Tensor> shadow;
    private long updates;

    private Ema(double decay, Map<String, Tensor> shadow) {
        this.decay = decay;
        this.shadow = shadow;
    }

    /**
     * An average starting at copies of {@code parameters}.
     *
     * @param decay weight of the old average per update, in {@code [0, 1]} (0.9999 is diffusers' default)
     * @throws IllegalArgumentException for an empty or null map or a decay outside {@code [0, 1]}
     */
    public static Ema create(Map<String, Tensor> parameters, double decay) {
        if (!(decay >= 0 && decay <= 1)) {
            throw new IllegalArgumentException("decay must be in [0, 1], found " + decay);
        }
        Map<String, Tensor> params = TensorMaps.ordered(parameters, "parameters");
        if (params.isEmpty()) {
            throw new IllegalArgumentException("parameters must be non-empty, found 0 tensors");
        }
        Map<String, Tensor> shadow = new LinkedHashMap<>();
        params.forEach((name, p) -> shadow.put(name, p.copy()));
        return new Ema(decay, Collections.unmodifiableMap(shadow));
    }

    public double decay() {
        return decay;
    }

    /** Number of {@link #update} calls (or the imported count). */
    public long updateCount() {
        return updates;
    }

    /**
     * Moves the average towards {@code parameters}, which must have the names and shapes given at creation.
     *
     * @throws IllegalArgumentException for missing, extra or misshapen tensors (nothing changes then)
     */
    public void update(Map<String, Tensor> parameters) {
        TensorMaps.requireSameLayout(shadow, parameters, "parameters");
        float oneMinusDecay = (float) (1 - decay);
        for (Map.Entry<String, Tensor> e : shadow.entrySet()) {
            FloatBuffer s = e.getValue().asFloatBuffer();
            FloatBuffer p = parameters.get(e.getKey()).asFloatBuffer();
            int n = s.limit();
            for (int i = 0; i < n; i++) {
                float si = s.get(i);
                s.put(i, si - oneMinusDecay * (si - p.get(i)));
            }
        }
        updates++;
    }

    /** The live shadow weights (unmodifiable map, in the parameters' order); they change with each update. */
    public Map<String, Tensor> weights() {
        return shadow;
    }

    /**
     * Copies the averaged weights into {@code parameters} (same names and shapes), e.g. before evaluating.
     *
     * @throws IllegalArgumentException for missing, extra or misshapen tensors (nothing is written then)
     */
    public void copyTo(Map<String, Tensor> parameters) {
        TensorMaps.requireSameLayout(shadow, parameters, "parameters");
        shadow.forEach((name, s) -> parameters.get(name).copyFrom(s));
    }

    /** The update count and live views of the shadow weights, under the parameters' names. */
    public StateTensors state() {
        return new StateTensors(updates, shadow);
    }

    /**
     * Replaces the update count and shadow weights with {@code state}'s (values copied in).
     *
     * @throws IllegalArgumentException if the names or shapes differ from {@link #state()}'s (nothing changes)
     */
    public void loadState(StateTensors state) {
        if (state == null) {
            throw new IllegalArgumentException("state must be non-null, found null");
        }
        TensorMaps.requireSameLayout(shadow, state.tensors(), "state.tensors()");
        shadow.forEach((name, s) -> s.copyFrom(state.tensors().get(name)));
        updates = state.step();
    }
}
