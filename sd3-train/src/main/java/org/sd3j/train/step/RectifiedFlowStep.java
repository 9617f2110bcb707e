package org.sd3j.train.step;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.graph.Value;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.autodiff.Autodiff;

/**
 * The rectified-flow training step as one ONNX graph (SPEC §1, §7): noised latents
 * {@code x_t = (1 - sigma) x0 + sigma eps}, the MMDiT's velocity at {@code sigma * 1000}, the loss against the
 * target {@code eps - x0}, and the loss's gradients with respect to the trainable inputs (LoRA adapters).
 *
 * <p>Inputs: {@code x0}, {@code noise} {@code [B, 16, H, W]}, {@code sigma} {@code [B]},
 * {@code encoder_hidden_states} {@code [B, S, D]}, {@code pooled_projections} {@code [B, P]}, then each adapter's
 * {@code <key>.lora_A.weight} and {@code <key>.lora_B.weight}. Outputs: {@code loss} (scalar) and
 * {@code grad.<input>} for each trainable input. Everything computes in the weights' compute type (float64 for
 * gradient checks); the timestep embedding in float32, as the reference computes it.
 */
public final class RectifiedFlowStep {
    public static final String X0 = "x0";
    public static final String NOISE = "noise";
    public static final String SIGMA = "sigma";
    public static final String LOSS = "loss";
    public static final String GRAD = GradientOutputs.PREFIX;
    /** The graph's symbolic dimensions: samples, latent height and width, context tokens. */
    public static final String BATCH = "batch";
    public static final String HEIGHT = "height";
    public static final String WIDTH = "width";
    public static final String SEQUENCE = "sequence";

    /** The loss form (SPEC §7). */
    public enum Loss {
        /** {@code mean((v - (eps - x0))^2)}: the paper's and SimpleTuner's. */
        VELOCITY_MSE,
        /** The sigma^2-weighted form, equal to diffusers' and kohya's x0 ("preconditioned") loss. */
        PRECONDITIONED
    }

    private RectifiedFlowStep() {
    }

    /** A built step graph and its trainable inputs (in output order). */
    public record StepGraph(OnnxGraph graph, List<String> trainable) {
    }

    /** Builds the step graph for LoRA training of the MMDiT in {@code weights}. */
    public static StepGraph lora(MmditConfig cfg, MmditWeights weights, LoraGraphAdapter adapter, Loss loss) {
        GraphBuilder g = new GraphBuilder("rectified_flow_step");
        Value l = emitLoss(g, cfg, weights, adapter, loss);
        List<Value> trainable = adapter.trainableInputs();
        if (trainable.isEmpty()) {
            throw new IllegalArgumentException("targets must match at least one Linear of the MMDiT, found none");
        }
        return withGradients(g, l, trainable);
    }

    /**
     * Builds the step graph for full-parameter training: gradients of every weight of the MMDiT, named
     * {@code grad.<weight name>} (a fused qkv's q, k and v rows are the weights {@code <name>#q}, {@code #k},
     * {@code #v}). Run it with the weights fed as inputs ({@code GraphSession.WeightBinding.INPUTS}) from buffers
     * the trainer updates.
     */
    public static StepGraph full(MmditConfig cfg, MmditWeights weights, Loss loss) {
        GraphBuilder g = new GraphBuilder("rectified_flow_step");
        Value l = emitLoss(g, cfg, weights, MmditGraph.LinearAdapter.NONE, loss);
        return withGradients(g, l, g.weightValues());
    }

    private static Value emitLoss(GraphBuilder g, MmditConfig cfg, MmditWeights weights,
                                  MmditGraph.LinearAdapter adapter, Loss loss) {
        Value sq = squaredErrors(g, cfg, weights, adapter, loss);
        // Flattened first: the mean's gradient then needs only the run-time element count of one axis.
        return g.reduceMean(g.reshape(sq, -1), false, 0);
    }

    /**
     * Declares the step inputs ({@link #X0}, {@link #NOISE}, {@link #SIGMA}, context, pooled) and emits the
     * per-element squared velocity errors {@code [B, 16, H, W]} (sigma^2-weighted for {@link Loss#PRECONDITIONED}).
     */
    static Value squaredErrors(GraphBuilder g, MmditConfig cfg, MmditWeights weights,
                               MmditGraph.LinearAdapter adapter, Loss loss) {
        ElementType t = weights.computeType();
        Value x0 = g.input(X0, t, Dim.symbol(BATCH), Dim.of(cfg.inChannels()), Dim.symbol(HEIGHT),
                Dim.symbol(WIDTH));
        Value noise = g.input(NOISE, t, Dim.symbol(BATCH), Dim.of(cfg.inChannels()), Dim.symbol(HEIGHT),
                Dim.symbol(WIDTH));
        Value sigma = g.input(SIGMA, t, Dim.symbol(BATCH));
        Value context = g.input(MmditGraph.CONTEXT, t, Dim.symbol(BATCH), Dim.symbol(SEQUENCE),
                Dim.of(cfg.contextDim()));
        Value pooled = g.input(MmditGraph.POOLED, t, Dim.symbol(BATCH), Dim.of(cfg.pooledDim()));

        Value s4 = g.unsqueeze(sigma, 1, 2, 3);
        Value xt = g.add(g.mul(g.sub(g.scalar(t, 1.0), s4), x0), g.mul(s4, noise));
        Value timestep = g.cast(g.mul(sigma, g.scalar(t, 1000.0)), ElementType.FLOAT);
        Value v = MmditGraph.emit(g, cfg, weights, Set.of(), MmditGraph.Attention.TRAINING, adapter, true, xt, timestep,
                context, pooled);
        Value diff = g.sub(v, g.sub(noise, x0));
        Value sq = g.mul(diff, diff);
        if (loss == Loss.PRECONDITIONED) {
            sq = g.mul(sq, g.mul(s4, s4));
        }
        return sq;
    }

    /**
     * The sizes of the symbolic dimensions for latents {@code x0 [B, C, H, W]} and context {@code [B, S, D]}: a
     * session made with them fixed runs only that shape, faster.
     */
    public static Map<String, Long> dimensions(Tensor x0, Tensor context) {
        return Map.of(BATCH, (long) x0.dim(0), HEIGHT, (long) x0.dim(2), WIDTH, (long) x0.dim(3), SEQUENCE,
                (long) context.dim(1));
    }

    private static StepGraph withGradients(GraphBuilder g, Value l, List<Value> trainable) {
        Map<Value, Value> grads = Autodiff.gradients(g, l, trainable);
        g.output(l, LOSS);
        List<String> names = GradientOutputs.emit(g, grads, trainable);
        return new StepGraph(g.build(), names);
    }
}
