package org.sd3j.train.step;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.graph.Value;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.slf4j.LoggerFactory;

/**
 * Diffusion-DPO (SPEC §8): the loss formula against the SPEC's example and its limits, ln 2 at B = 0 on the golden
 * depth-2 MMDiT, and the adapters' gradients against five-point finite differences of the float64 step graph's loss
 * (1e-6 relative, as {@link GoldenLoraGradientTest}).
 */
class DpoStepTest {
    private static final double LN2 = Math.log(2);
    private static final OnnxOptions OPTIONS = OnnxOptions.builder()
            .optimizationLevel(OnnxOptions.OptimizationLevel.BASIC).build();

    @TempDir
    Path dir;

    /** Loss and margins of {@code policy} / {@code reference} errors {@code [2B]} in float64. */
    private static Map<String, double[]> lossOf(double[] policy, double[] reference, double beta) {
        GraphBuilder g = new GraphBuilder("dpo_loss");
        Value p = g.input("p", ElementType.DOUBLE, Dim.symbol("n"));
        Value r = g.input("r", ElementType.DOUBLE, Dim.symbol("n"));
        Value z = DpoStep.margins(g, p, r, beta);
        g.output(DpoStep.loss(g, z), "loss");
        g.output(z, "z");
        try (GraphSession s = GraphSession.create(g.build(), OPTIONS)) {
            return s.runDoubles(Map.of("p", policy, "r", reference),
                    Map.of("p", new long[] {policy.length}, "r", new long[] {reference.length}));
        }
    }

    @Test
    void theLossIsTheSpecsExampleLn2WhenPolicyEqualsReferenceAndStaysFiniteFarOut() {
        // SPEC §8: e_pw .100, e_pl .120, e_rw .101, e_rl .119, beta 5000 -> z = 5, loss 0.0067153.
        Map<String, double[]> example = lossOf(new double[] {0.100, 0.120}, new double[] {0.101, 0.119}, 5000);
        assertThat(example.get("z")[0]).isCloseTo(5, within(1e-9));
        assertThat(example.get("loss")[0]).isCloseTo(0.0067153, within(5e-8));

        double[] same = {0.3, 0.1, 0.25, 0.4};
        Map<String, double[]> equal = lossOf(same, same.clone(), 5000);
        assertThat(equal.get("loss")[0]).isCloseTo(LN2, within(1e-15));
        assertThat(equal.get("z")).containsExactly(new double[] {0, 0}, within(0.0)); // -0.0 counts as 0

        // z = -1000 and +1000: -log sigmoid is 1000 and about e^-1000, where log(sigmoid(z)) would give -inf.
        Map<String, double[]> far = lossOf(new double[] {0.3, 0.1, 0.2, 0.5}, new double[] {0.1, 0.3, 0.4, 0.3}, 5000);
        assertThat(far.get("z")).containsExactly(new double[] {-1000, 1000}, within(1e-9));
        assertThat(far.get("loss")[0]).isCloseTo(500, within(1e-9));
    }

    @Test
    void atInitializationTheLossIsLn2AndTheGradientsMatchFiniteDifferences() throws Exception {
        Path weightsFile = GoldenLoraGradientTest.resource(dir, "d2_rms/weights.safetensors");
        Path caseFile = GoldenLoraGradientTest.resource(dir, "d2_rms/sq8x8.safetensors");
        SplittableRandom random = new SplittableRandom(11);
        try (TensorSource source = Safetensors.open(weightsFile); TensorSource golden = Safetensors.open(caseFile)) {
            MmditWeights weights = MmditWeights.of(source, weightsFile, ElementType.DOUBLE);
            MmditConfig cfg = MmditConfig.infer(weights);
            LoraGraphAdapter adapter = new LoraGraphAdapter(k -> k.contains(".attn."), 2, 4.0, ElementType.DOUBLE,
                    k -> source.info(k + ".weight").shape());
            // beta 500 keeps z = O(1) with these adapters, so the loss is not saturated and every gradient counts.
            RectifiedFlowStep.StepGraph step = DpoStep.lora(cfg, weights, adapter, 500,
                    DpoStep.ErrorReduction.MEAN);

            // One pair: the golden case's two latents as chosen and rejected, one noise, one sigma, one prompt.
            double[] x = GoldenLoraGradientTest.doubles(golden, "x");
            double[] context = GoldenLoraGradientTest.doubles(golden, "context");
            double[] pooled = GoldenLoraGradientTest.doubles(golden, "y");
            int latent = 16 * 8 * 8;
            double[] noise = GoldenLoraGradientTest.gaussian(random, latent, 1);
            Map<String, double[]> in = new LinkedHashMap<>();
            Map<String, long[]> shapes = new LinkedHashMap<>();
            in.put(RectifiedFlowStep.X0, x);
            shapes.put(RectifiedFlowStep.X0, new long[] {2, 16, 8, 8});
            in.put(RectifiedFlowStep.NOISE, repeat(noise));
            shapes.put(RectifiedFlowStep.NOISE, new long[] {2, 16, 8, 8});
            in.put(RectifiedFlowStep.SIGMA, new double[] {0.6, 0.6});
            shapes.put(RectifiedFlowStep.SIGMA, new long[] {2});
            in.put(MmditGraph.CONTEXT, repeat(java.util.Arrays.copyOf(context, context.length / 2)));
            shapes.put(MmditGraph.CONTEXT, new long[] {2, 12, 96});
            in.put(MmditGraph.POOLED, repeat(java.util.Arrays.copyOf(pooled, pooled.length / 2)));
            shapes.put(MmditGraph.POOLED, new long[] {2, 64});
            try (GraphSession ref = GraphSession.create(DpoStep.reference(cfg, weights, DpoStep.ErrorReduction.MEAN),
                    OPTIONS)) {
                in.put(DpoStep.REFERENCE_ERRORS, ref.runDoubles(in, shapes).get(DpoStep.ERRORS));
            }
            shapes.put(DpoStep.REFERENCE_ERRORS, new long[] {2});
            for (String key : adapter.keys()) {
                long rows = source.info(key + ".weight").shape()[0];
                long cols = source.info(key + ".weight").shape()[1];
                in.put(key + LoraGraphAdapter.A, GoldenLoraGradientTest.gaussian(random, (int) (2 * cols), 0.1));
                shapes.put(key + LoraGraphAdapter.A, new long[] {2, cols});
                in.put(key + LoraGraphAdapter.B, new double[(int) (rows * 2)]);
                shapes.put(key + LoraGraphAdapter.B, new long[] {rows, 2});
            }
            try (GraphSession s = GraphSession.create(step.graph(), OPTIONS)) {
                Map<String, double[]> init = s.runDoubles(in, shapes);
                assertThat(init.get(DpoStep.LOSS)[0]).isCloseTo(LN2, within(1e-12));
                assertThat(init.get(DpoStep.MARGIN)[0]).isCloseTo(0, within(1e-12));
                assertThat(init.get(DpoStep.ERRORS)).containsExactly(in.get(DpoStep.REFERENCE_ERRORS),
                        within(1e-15));

                for (String key : adapter.keys()) {
                    in.put(key + LoraGraphAdapter.B, GoldenLoraGradientTest.gaussian(random,
                            in.get(key + LoraGraphAdapter.B).length, 0.1));
                }
                Map<String, double[]> base = s.runDoubles(in, shapes);
                double z = base.get(DpoStep.MARGIN)[0];
                assertThat(Math.abs(z)).as("margin away from 0 and from saturation").isBetween(0.05, 10.0);
                double worst = GoldenLoraGradientTest.checkAgainstFiniteDifferences(s, in, shapes, base,
                        step.trainable(), 28, random);
                LoggerFactory.getLogger(DpoStepTest.class).info("DPO margin {}; worst relative error of 28 "
                        + "adapter gradient elements: {}", z, worst);

                // The sum-reduced errors with beta / (C*H*W) are the same loss.
                RectifiedFlowStep.StepGraph summed = DpoStep.lora(cfg, weights, new LoraGraphAdapter(
                        k -> k.contains(".attn."), 2, 4.0, ElementType.DOUBLE, k -> source.info(k + ".weight")
                        .shape()), 500.0 / latent, DpoStep.ErrorReduction.SUM);
                Map<String, double[]> sumIn = new LinkedHashMap<>(in);
                double[] refSum = in.get(DpoStep.REFERENCE_ERRORS).clone();
                for (int i = 0; i < refSum.length; i++) {
                    refSum[i] *= latent;
                }
                sumIn.put(DpoStep.REFERENCE_ERRORS, refSum);
                try (GraphSession sum = GraphSession.create(summed.graph(), OPTIONS)) {
                    assertThat(sum.runDoubles(sumIn, shapes).get(DpoStep.LOSS)[0])
                            .isCloseTo(base.get(DpoStep.LOSS)[0], within(1e-12));
                }
            }
        }
    }

    private static double[] repeat(double[] a) {
        double[] out = java.util.Arrays.copyOf(a, 2 * a.length);
        System.arraycopy(a, 0, out, a.length, a.length);
        return out;
    }

    @Test
    void betaMustBePositive() throws Exception {
        Path weightsFile = GoldenLoraGradientTest.resource(dir, "d2_rms/weights.safetensors");
        try (TensorSource source = Safetensors.open(weightsFile)) {
            MmditWeights weights = MmditWeights.of(source, weightsFile, ElementType.FLOAT);
            MmditConfig cfg = MmditConfig.infer(weights);
            LoraGraphAdapter adapter = new LoraGraphAdapter(k -> true, 2, 2, ElementType.FLOAT,
                    k -> source.info(k + ".weight").shape());
            assertThatThrownBy(() -> DpoStep.lora(cfg, weights, adapter, 0, DpoStep.ErrorReduction.MEAN))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("beta must be finite and > 0, found 0.0");
        }
    }
}
