package org.sd3j.train.optim;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/**
 * AdamW with decoupled weight decay, step for step what {@code torch.optim.AdamW} (single-tensor path, no amsgrad,
 * no maximize) computes, on float32 parameters updated in place:
 * <pre>
 *   t += 1
 *   p  = p * (1 - lr * wd)                        // decoupled decay, before the moment update
 *   m  = beta1 * m + (1 - beta1) * g
 *   v  = beta2 * v + (1 - beta2) * g * g
 *   p  = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * Scalars ({@code 1 - lr*wd}, the bias corrections, the step size) are computed in double as Python does and
 * rounded to float once; element-wise arithmetic is float32 in the order of torch's CPU kernels, including the
 * fused multiply-adds of their vectorised {@code add_(alpha)} and {@code addcmul_} forms, so the results are bit
 * for bit those of PyTorch 1.13.1 on an AVX2 CPU (checked over several steps with changing learning rates and
 * hyper-parameters, see {@code src/test/python/make_optim_golden.py}).
 *
 * <p><b>Memory.</b> The moment buffers ({@code m}, {@code v}: two floats per parameter element) are allocated
 * once, at construction, with one set of block buffers per worker; {@link #step(Map, double)} allocates no buffers
 * (only small objects: views of the gradients, the name check and the worker tasks).
 *
 * <p><b>Speed.</b> A step works through {@value ElementBlocks#BLOCK}-element blocks copied into heap arrays, where
 * the arithmetic vectorises, spread over the common fork-join pool and the calling thread; the result does not
 * depend on how many cores do it.
 *
 * <p><b>Ownership.</b> The optimizer borrows the parameter tensors given at construction and writes them in
 * every step; the caller keeps owning them. Gradients are only read.
 *
 * <p><b>State.</b> {@link #state()} exports the step count and, per parameter {@code p}, tensors named
 * {@code exp_avg/<p>} and {@code exp_avg_sq/<p>} (torch's state names); {@link #loadState(StateTensors)} imports
 * them.
 *
 * <p>Not thread-safe: one training loop drives one optimizer (its steps use other threads internally).
 */
public final class AdamW {
    /** Prefix of the first-moment state tensors. */
    public static final String EXP_AVG = "exp_avg/";
    /** Prefix of the second-moment state tensors. */
    public static final String EXP_AVG_SQ = "exp_avg_sq/";

    private final AdamWSettings settings;
    private final Map<String, Tensor> parameters;
    private final Map<String, Tensor> expAvg = new LinkedHashMap<>();
    private final Map<String, Tensor> expAvgSq = new LinkedHashMap<>();
    private final Map<String, Tensor> stateView;
    /** Per parameter, in order: its name and views of the parameter and moment buffers, made once. */
    private final String[] names;
    private final FloatBuffer[] paramData;
    private final FloatBuffer[] expAvgData;
    private final FloatBuffer[] expAvgSqData;
    private final ElementBlocks blocks;
    private final List<Scratch> scratch = new ArrayList<>();
    private long step;

    private AdamW(Map<String, Tensor> parameters, AdamWSettings settings) {
        this.settings = settings;
        this.parameters = parameters;
        Map<String, Tensor> view = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
            Tensor m = Tensor.zeros(e.getValue().shape());
            Tensor v = Tensor.zeros(e.getValue().shape());
            expAvg.put(e.getKey(), m);
            expAvgSq.put(e.getKey(), v);
        }
        expAvg.forEach((name, m) -> view.put(EXP_AVG + name, m));
        expAvgSq.forEach((name, v) -> view.put(EXP_AVG_SQ + name, v));
        this.stateView = Collections.unmodifiableMap(view);
        int n = parameters.size();
        names = parameters.keySet().toArray(new String[0]);
        paramData = new FloatBuffer[n];
        expAvgData = new FloatBuffer[n];
        expAvgSqData = new FloatBuffer[n];
        for (int i = 0; i < n; i++) {
            paramData[i] = parameters.get(names[i]).asFloatBuffer();
            expAvgData[i] = expAvg.get(names[i]).asFloatBuffer();
            expAvgSqData[i] = expAvgSq.get(names[i]).asFloatBuffer();
        }
        int[] sizes = new int[n];
        for (int i = 0; i < n; i++) {
            sizes[i] = paramData[i].limit();
        }
        blocks = new ElementBlocks(sizes);
        for (int w = 0; w < blocks.workers(); w++) {
            scratch.add(new Scratch());
        }
    }

    /**
     * An optimizer over {@code parameters} (name -> tensor, in the map's order), with zero moments and step 0.
     *
     * @param parameters the trainable tensors, borrowed and updated in place; at least one
     * @throws IllegalArgumentException for a null argument or an empty parameter set
     */
    public static AdamW create(Map<String, Tensor> parameters, AdamWSettings settings) {
        Checks.notNull(settings, "settings");
        Map<String, Tensor> params = TensorMaps.ordered(parameters, "parameters");
        if (params.isEmpty()) {
            throw new IllegalArgumentException("parameters must be non-empty, found 0 tensors");
        }
        return new AdamW(Collections.unmodifiableMap(params), settings);
    }

    public AdamWSettings settings() {
        return settings;
    }

    /** The parameter tensors this optimizer updates (unmodifiable map of the borrowed tensors). */
    public Map<String, Tensor> parameters() {
        return parameters;
    }

    /** Number of steps taken (or imported). */
    public long stepCount() {
        return step;
    }

    /** {@link #step(Map, double)} with the settings' learning rate. */
    public void step(Map<String, Tensor> gradients) {
        step(gradients, settings.learningRate());
    }

    /**
     * One update of every parameter in place.
     *
     * @param gradients    name -> gradient, with exactly the parameters' names and shapes; only read
     * @param learningRate this step's learning rate (e.g. {@link LearningRateSchedule#at(long)}), finite, {@code >= 0}
     * @throws IllegalArgumentException for missing, extra or misshapen gradients or a bad learning rate; nothing is
     *                                  updated then
     */
    public void step(Map<String, Tensor> gradients, double learningRate) {
        step(gradients, learningRate, 1.0f);
    }

    /**
     * One update of every parameter in place, with each gradient element first multiplied by {@code gradientScale}
     * in float32: the same result as scaling the gradients in place (e.g. {@link GradientClipping#clip}) and then
     * stepping, without a separate pass over them (the gradients are not modified).
     *
     * @param gradientScale e.g. {@link GradientClipping#coefficient(double)}; finite and {@code > 0}
     * @throws IllegalArgumentException as {@link #step(Map, double)}, or for a bad {@code gradientScale}
     */
    public void step(Map<String, Tensor> gradients, double learningRate, float gradientScale) {
        AdamWSettings.requireLearningRate(learningRate, "learningRate");
        if (!(gradientScale > 0) || !Float.isFinite(gradientScale)) {
            throw new IllegalArgumentException("gradientScale must be finite and > 0, found " + gradientScale);
        }
        TensorMaps.requireSameLayout(parameters, gradients, "gradients");
        step++;
        double beta1 = settings.beta1();
        double beta2 = settings.beta2();
        float decay = (float) (1 - learningRate * settings.weightDecay());
        float b1 = (float) beta1;
        float oneMinusB1 = (float) (1 - beta1);
        float b2 = (float) beta2;
        float oneMinusB2 = (float) (1 - beta2);
        double biasCorrection1 = 1 - StrictMath.pow(beta1, step);
        double biasCorrection2 = 1 - StrictMath.pow(beta2, step);
        float negStepSize = (float) -(learningRate / biasCorrection1);
        float bc2Sqrt = (float) Math.sqrt(biasCorrection2);
        float eps = (float) settings.epsilon();
        FloatBuffer[] gradData = new FloatBuffer[names.length];
        for (int t = 0; t < names.length; t++) {
            gradData[t] = gradients.get(names[t]).asFloatBuffer();
        }
        blocks.forEach(scratch, (block, t, from, to, s) -> {
            int n = to - from;
            paramData[t].get(from, s.p, 0, n);
            gradData[t].get(from, s.g, 0, n);
            expAvgData[t].get(from, s.m, 0, n);
            expAvgSqData[t].get(from, s.v, 0, n);
            update(s, n, gradientScale, decay, b1, oneMinusB1, b2, oneMinusB2, negStepSize, bc2Sqrt, eps);
            paramData[t].put(from, s.p, 0, n);
            expAvgData[t].put(from, s.m, 0, n);
            expAvgSqData[t].put(from, s.v, 0, n);
        });
    }

    /** One block in heap arrays, where C2 vectorises it (vector FMA, square root and division round as scalar). */
    private static void update(Scratch s, int n, float gradientScale, float decay, float b1, float oneMinusB1,
            float b2, float oneMinusB2, float negStepSize, float bc2Sqrt, float eps) {
        float[] p = s.p;
        float[] g = s.g;
        float[] m = s.m;
        float[] v = s.v;
        if (gradientScale != 1.0f) {
            for (int i = 0; i < n; i++) {
                g[i] *= gradientScale; // what clip_grad_norm_ does to the gradient in place before the step
            }
        }
        for (int i = 0; i < n; i++) {
            float gi = g[i];
            // The fused multiply-adds are those of torch's vectorised add_(alpha) and addcmul_ kernels.
            float mi = Math.fma(gi, oneMinusB1, m[i] * b1);
            float vi = Math.fma(oneMinusB2 * gi, gi, v[i] * b2);
            float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] * decay + negStepSize * mi / denom;
        }
    }

    /** One worker's block buffers, allocated once per optimizer. */
    private static final class Scratch {
        final float[] p = new float[ElementBlocks.BLOCK];
        final float[] g = new float[ElementBlocks.BLOCK];
        final float[] m = new float[ElementBlocks.BLOCK];
        final float[] v = new float[ElementBlocks.BLOCK];
    }

    /**
     * The step count and live views of the moment buffers, named {@code exp_avg/<p>} then {@code exp_avg_sq/<p>}
     * for every parameter {@code p} in order. The views change with the next step: copy to keep.
     */
    public StateTensors state() {
        return new StateTensors(step, stateView);
    }

    /**
     * Replaces the step count and moments with {@code state}'s (values copied in; nothing kept), e.g. when
     * resuming from a checkpoint.
     *
     * @throws IllegalArgumentException if the state's names or shapes differ from {@link #state()}'s; nothing is
     *                                  changed then
     */
    public void loadState(StateTensors state) {
        Checks.notNull(state, "state");
        TensorMaps.requireSameLayout(stateView, state.tensors(), "state.tensors()");
        stateView.forEach((name, t) -> t.copyFrom(state.tensors().get(name)));
        step = state.step();
    }
}
