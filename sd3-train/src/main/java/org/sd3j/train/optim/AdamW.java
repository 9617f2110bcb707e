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
 * <p><b>Memory.</b> The moments ({@code m}, {@code v}: two floats per parameter element) live on the Java heap,
 * one array per {@value ElementBlocks#BLOCK}-element block, allocated at construction with one pair of block
 * buffers per worker; {@link #step(Map, double)} allocates no buffers (only small objects: views of the gradients,
 * the name check and the worker tasks). {@link #state()} adds one direct copy of the moments, made at its first
 * call and reused. Size the Java heap for the moments: 8 bytes per parameter (a 2B-parameter model needs
 * {@code -Xmx} above 16 GB).
 *
 * <p><b>Speed.</b> A step works block by block, spread over the common fork-join pool and the calling thread: the
 * block's parameters and gradients are copied from their direct buffers into heap arrays, and the arithmetic runs
 * over those and the moments' own arrays, where it vectorises. The moments are read and written where they live,
 * so their memory traffic overlaps the arithmetic instead of adding copies to it (a full-parameter step of 9.5M
 * elements: about 10 -> 8 ms). The result does not depend on how many cores do it.
 *
 * <p><b>Ownership.</b> The optimizer borrows the parameter tensors given at construction and writes them in
 * every step; the caller keeps owning them. Gradients are only read.
 *
 * <p><b>State.</b> {@link #state()} exports the step count and, per parameter {@code p}, tensors named
 * {@code exp_avg/<p>} and {@code exp_avg_sq/<p>} (torch's state names), as a snapshot; {@link
 * #loadState(StateTensors)} imports them.
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
    /** Per parameter, in order: its name and a view of its buffer, made once. */
    private final String[] names;
    private final FloatBuffer[] paramData;
    private final ElementBlocks blocks;
    /** The moments, one array per block of {@link #blocks}. */
    private final float[][] expAvg;
    private final float[][] expAvgSq;
    /** The tensors {@link #state()} fills, made at its first call. */
    private Map<String, Tensor> snapshot;
    private final List<Scratch> scratch = new ArrayList<>();
    private long step;

    private AdamW(Map<String, Tensor> parameters, AdamWSettings settings) {
        this.settings = settings;
        this.parameters = parameters;
        int n = parameters.size();
        names = parameters.keySet().toArray(new String[0]);
        paramData = new FloatBuffer[n];
        int[] sizes = new int[n];
        for (int i = 0; i < n; i++) {
            paramData[i] = parameters.get(names[i]).asFloatBuffer();
            sizes[i] = paramData[i].limit();
        }
        blocks = new ElementBlocks(sizes);
        expAvg = new float[blocks.blockCount()][];
        expAvgSq = new float[blocks.blockCount()][];
        for (int b = 0; b < blocks.blockCount(); b++) {
            expAvg[b] = new float[blocks.blockSize(b)];
            expAvgSq[b] = new float[blocks.blockSize(b)];
        }
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
            update(s.p, s.g, expAvg[block], expAvgSq[block], n, gradientScale, decay, b1, oneMinusB1, b2,
                    oneMinusB2, negStepSize, bc2Sqrt, eps);
            paramData[t].put(from, s.p, 0, n);
        });
    }

    /**
     * One block in heap arrays indexed alike (no offsets, which keep C2 from vectorising): vector FMA, square root
     * and division round as scalar.
     */
    private static void update(float[] p, float[] g, float[] m, float[] v, int n, float gradientScale, float decay,
            float b1, float oneMinusB1, float b2, float oneMinusB2, float negStepSize, float bc2Sqrt, float eps) {
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

    /** One worker's block buffers for the parameters and gradients, allocated once per optimizer. */
    private static final class Scratch {
        final float[] p = new float[ElementBlocks.BLOCK];
        final float[] g = new float[ElementBlocks.BLOCK];
    }

    /**
     * The step count and the moments, named {@code exp_avg/<p>} then {@code exp_avg_sq/<p>} for every parameter
     * {@code p} in order: tensors of the optimizer's that each call refills (made at the first call, so a checkpoint
     * allocates nothing after the first). Valid until the next call: copy to keep.
     */
    public StateTensors state() {
        Map<String, Tensor> out = snapshot();
        for (int b = 0; b < blocks.blockCount(); b++) {
            String name = names[blocks.tensorOf(b)];
            out.get(EXP_AVG + name).asFloatBuffer().put(blocks.startOf(b), expAvg[b]);
            out.get(EXP_AVG_SQ + name).asFloatBuffer().put(blocks.startOf(b), expAvgSq[b]);
        }
        return new StateTensors(step, out);
    }

    /** The tensors {@link #state()} fills, made at the first call (their layout is the state's). */
    private Map<String, Tensor> snapshot() {
        if (snapshot == null) {
            Map<String, Tensor> s = new LinkedHashMap<>();
            for (String name : names) {
                s.put(EXP_AVG + name, Tensor.zeros(parameters.get(name).shape()));
            }
            for (String name : names) {
                s.put(EXP_AVG_SQ + name, Tensor.zeros(parameters.get(name).shape()));
            }
            snapshot = Collections.unmodifiableMap(s);
        }
        return snapshot;
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
        TensorMaps.requireSameLayout(snapshot(), state.tensors(), "state.tensors()");
        for (int b = 0; b < blocks.blockCount(); b++) {
            String name = names[blocks.tensorOf(b)];
            state.tensors().get(EXP_AVG + name).asFloatBuffer().get(blocks.startOf(b), expAvg[b]);
            state.tensors().get(EXP_AVG_SQ + name).asFloatBuffer().get(blocks.startOf(b), expAvgSq[b]);
        }
        step = state.step();
    }
}
