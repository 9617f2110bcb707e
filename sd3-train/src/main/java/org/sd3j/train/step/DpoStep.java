package org.sd3j.train.step;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.sd3j.internal.Checks;
import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.graph.Value;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.train.autodiff.Autodiff;

/**
 * Diffusion-DPO on a rectified-flow MMDiT (SPEC §8) as two ONNX graphs: the reference's per-sample errors (the
 * frozen network, i.e. the adapters at scale 0; forward only), and the policy's step (adapters on) with the DPO
 * loss and its gradients with respect to the adapters.
 *
 * <p>Both take a batch of {@code 2B} rows: the {@code B} preferred ("chosen") latents first, then the {@code B}
 * rejected ones in the same pair order, each pair sharing its noise, sigma and text conditioning (the caller
 * repeats them). Inputs, as {@link RectifiedFlowStep}: {@code x0}, {@code noise} {@code [2B, 16, H, W]},
 * {@code sigma} {@code [2B]}, {@code encoder_hidden_states} {@code [2B, S, D]}, {@code pooled_projections}
 * {@code [2B, P]}; the step graph also {@code reference_errors} {@code [2B]} (the reference graph's
 * {@code errors}) and the adapters.
 *
 * <p>With per-sample errors {@code e = reduce_{C,H,W} (v - (eps - x0))^2} ({@link ErrorReduction}), the step
 * computes {@code z = -0.5 beta ((e_pw - e_rw) - (e_pl - e_rl))} per pair ({@link #MARGIN}, {@code [B]}) and
 * {@code loss = mean(-log sigmoid(z))}, the latter as {@code softplus(-z) = max(-z, 0) + log(1 + exp(-|z|))}, which
 * neither overflows nor loses the tail for large {@code |z|}. Outputs: {@link #LOSS}, {@link #MARGIN},
 * {@link #ERRORS} (the policy's, {@code [2B]}) and {@code grad.<adapter input>}.
 */
public final class DpoStep {
    public static final String REFERENCE_ERRORS = "reference_errors";
    public static final String LOSS = RectifiedFlowStep.LOSS;
    /** Per pair: the implicit reward margin {@code z}; positive where the policy prefers the chosen image. */
    public static final String MARGIN = "margin";
    /** Per-sample errors, chosen rows then rejected rows. */
    public static final String ERRORS = "errors";
    public static final String GRAD = RectifiedFlowStep.GRAD;

    /** How a sample's squared errors become one number (SPEC §8). */
    public enum ErrorReduction {
        /** Mean over C, H, W (Diffusion-DPO's code: beta 5000). */
        MEAN,
        /** Sum over C, H, W: the same loss with beta divided by C*H*W. */
        SUM
    }

    private DpoStep() {
    }

    /** The reference graph: inputs as the step's, minus reference errors and adapters; output {@link #ERRORS}. */
    public static OnnxGraph reference(MmditConfig cfg, MmditWeights weights, ErrorReduction reduction) {
        Checks.notNull(reduction, "reduction");
        GraphBuilder g = new GraphBuilder("dpo_reference");
        Value e = sampleErrors(g, cfg, weights, MmditGraph.LinearAdapter.NONE, reduction);
        g.output(e, ERRORS);
        return g.build();
    }

    /**
     * The policy's step graph.
     *
     * @param beta the DPO temperature, > 0 (5000 suits {@link ErrorReduction#MEAN})
     */
    public static RectifiedFlowStep.StepGraph lora(MmditConfig cfg, MmditWeights weights, LoraGraphAdapter adapter,
                                                   double beta, ErrorReduction reduction) {
        Checks.notNull(adapter, "adapter");
        Checks.notNull(reduction, "reduction");
        if (!(beta > 0) || Double.isInfinite(beta)) {
            throw Checks.fail("beta", "finite and > 0", beta);
        }
        GraphBuilder g = new GraphBuilder("dpo_step");
        ElementType t = weights.computeType();
        Value policy = sampleErrors(g, cfg, weights, adapter, reduction);
        Value reference = g.input(REFERENCE_ERRORS, t, Dim.symbol(RectifiedFlowStep.BATCH));
        Value z = margins(g, policy, reference, beta);
        Value loss = loss(g, z);

        List<Value> trainable = adapter.trainableInputs();
        if (trainable.isEmpty()) {
            throw new IllegalArgumentException("targets must match at least one Linear of the MMDiT, found none");
        }
        Map<Value, Value> grads = Autodiff.gradients(g, loss, trainable);
        g.output(loss, LOSS);
        g.output(z, MARGIN);
        g.output(policy, ERRORS);
        List<String> names = GradientOutputs.emit(g, grads, trainable);
        return new RectifiedFlowStep.StepGraph(g.build(), names);
    }

    /** {@code z = -0.5 beta ((e_pw - e_rw) - (e_pl - e_rl))} per pair, {@code [B]}, from errors {@code [2B]}. */
    static Value margins(GraphBuilder g, Value policy, Value reference, double beta) {
        ElementType t = policy.type();
        // [2B] -> [2, B]: row 0 the chosen samples, row 1 the rejected; weighting by (1, -1) and summing the rows
        // gives (e_pw - e_rw) - (e_pl - e_rl) without a split on a symbolic batch.
        Value pairs = g.reshape(g.sub(policy, reference), 2, -1);
        Value signs = g.constant(t, new float[] {1f, -1f}, 2, 1);
        Value difference = g.reduceSum(g.mul(pairs, signs), false, 0);
        return g.mul(difference, g.scalar(t, -0.5 * beta));
    }

    /** {@code mean(-log sigmoid(z))}, as {@code mean(softplus(-z))} in its stable form. */
    static Value loss(GraphBuilder g, Value z) {
        ElementType t = z.type();
        Value u = g.neg(z);
        Value softplus = g.add(g.max(u, g.scalar(t, 0.0)),
                g.log(g.add(g.scalar(t, 1.0), g.exp(g.neg(g.abs(u))))));
        return g.reduceMean(softplus, false, 0);
    }

    private static Value sampleErrors(GraphBuilder g, MmditConfig cfg, MmditWeights weights,
                                      MmditGraph.LinearAdapter adapter, ErrorReduction reduction) {
        Value sq = RectifiedFlowStep.squaredErrors(g, cfg, weights, adapter, RectifiedFlowStep.Loss.VELOCITY_MSE);
        Value rows = g.reshape(sq, 0, -1);
        return reduction == ErrorReduction.MEAN ? g.reduceMean(rows, false, 1) : g.reduceSum(rows, false, 1);
    }
}
