package org.sd3j.train.step;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;

/**
 * The LoRA gradients of the golden depth-2 MMDiT (Stability's reference weights, QK RMS-norm) in a float64 step
 * graph agree with finite differences of the same graph's loss to 1e-6 relative. The five-point stencil
 * {@code (-L(x+2h) + 8L(x+h) - 8L(x-h) + L(x-2h)) / 12h} with h = 1e-4 keeps the differences' own error near 1e-11
 * (the two-point one at h = 1e-6 is limited to about 1e-9 by the loss's rounding); errors are relative to
 * {@code max(|fd|, 1e-4)}.
 */
class GoldenLoraGradientTest {
    @TempDir
    Path dir;

    /** Copies sd3-onnx's golden MMDiT test resource {@code name} into {@code dir}. */
    static Path resource(Path dir, String name) throws IOException {
        Path out = dir.resolve(name.replace('/', '_'));
        try (InputStream in = GoldenLoraGradientTest.class.getResourceAsStream("/golden/mmdit/" + name)) {
            assertThat(in).as("sd3-onnx test resource " + name).isNotNull();
            Files.copy(in, out);
        }
        return out;
    }

    static double[] doubles(TensorSource s, String name) {
        ByteBuffer b = s.bytes(name).duplicate().order(ByteOrder.LITTLE_ENDIAN);
        double[] d = new double[b.remaining() / 4];
        for (int i = 0; i < d.length; i++) {
            d[i] = b.getFloat(i * 4);
        }
        return d;
    }

    static double[] gaussian(SplittableRandom r, int n, double std) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = r.nextGaussian() * std;
        }
        return d;
    }

    /**
     * Checks {@code count} gradient elements (inputs in turn, random elements) of a float64 step graph's
     * {@code loss} against the five-point stencil of the class comment, to 1e-6 relative.
     *
     * @param base the step's outputs at {@code in} (loss and {@code grad.<input>})
     * @return the worst relative error
     */
    static double checkAgainstFiniteDifferences(GraphSession s, Map<String, double[]> in, Map<String, long[]> shapes,
                                                Map<String, double[]> base, List<String> trainable, int count,
                                                SplittableRandom random) {
        double h = 1e-4;
        double worst = 0;
        for (int k = 0; k < count; k++) {
            String name = trainable.get(k % trainable.size());
            double[] x = in.get(name);
            int i = random.nextInt(x.length);
            double keep = x[i];
            double[] l = new double[4];
            double[] offsets = {2 * h, h, -h, -2 * h};
            for (int o = 0; o < 4; o++) {
                x[i] = keep + offsets[o];
                l[o] = s.runDoubles(in, shapes).get(RectifiedFlowStep.LOSS)[0];
            }
            x[i] = keep;
            double fd = (-l[0] + 8 * l[1] - 8 * l[2] + l[3]) / (12 * h);
            double analytic = base.get(RectifiedFlowStep.GRAD + name)[i];
            double err = Math.abs(analytic - fd) / Math.max(Math.abs(fd), 1e-4);
            worst = Math.max(worst, err);
            assertThat(err).as("%s[%d]: analytic %s, finite difference %s", name, i, analytic, fd)
                    .isLessThan(1e-6);
        }
        return worst;
    }

    @Test
    void loraGradientsMatchFiniteDifferencesInFloat64() throws Exception {
        Path weightsFile = resource(dir, "d2_rms/weights.safetensors");
        Path caseFile = resource(dir, "d2_rms/sq8x8.safetensors");
        SplittableRandom random = new SplittableRandom(7);
        try (TensorSource source = Safetensors.open(weightsFile); TensorSource golden = Safetensors.open(caseFile)) {
            MmditWeights weights = MmditWeights.of(source, weightsFile, ElementType.DOUBLE);
            MmditConfig cfg = MmditConfig.infer(weights);
            LoraGraphAdapter adapter = new LoraGraphAdapter(k -> k.contains(".attn."), 2, 4.0, ElementType.DOUBLE,
                    k -> source.info(k + ".weight").shape());
            RectifiedFlowStep.StepGraph step = RectifiedFlowStep.lora(cfg, weights, adapter,
                    RectifiedFlowStep.Loss.VELOCITY_MSE);
            // qkv and proj of both streams in block 0; block 1's context stream is pre-only (qkv, no proj).
            assertThat(adapter.keys()).hasSize(7).contains("model.diffusion_model.joint_blocks.0.x_block.attn.qkv",
                    "model.diffusion_model.joint_blocks.1.context_block.attn.qkv");

            Map<String, double[]> in = new LinkedHashMap<>();
            Map<String, long[]> shapes = new LinkedHashMap<>();
            inputs(source, golden, adapter.keys(), random, in, shapes);

            OnnxOptions options = OnnxOptions.builder().optimizationLevel(OnnxOptions.OptimizationLevel.BASIC).build();
            try (GraphSession s = GraphSession.create(step.graph(), options)) {
                Map<String, double[]> base = s.runDoubles(in, shapes);
                assertThat(base.get(RectifiedFlowStep.LOSS)[0]).isPositive();
                List<String> trainable = step.trainable();
                assertThat(trainable).hasSize(14);
                double worst = checkAgainstFiniteDifferences(s, in, shapes, base, trainable, 40, random);
                org.slf4j.LoggerFactory.getLogger(GoldenLoraGradientTest.class)
                        .info("Worst relative error of 40 LoRA gradient elements: {}", worst);
            }
        }
    }

    /** The step's inputs for the golden case: its latents and conditioning, seeded noise and adapters. */
    private static void inputs(TensorSource source, TensorSource golden, List<String> keys, SplittableRandom random,
                               Map<String, double[]> in, Map<String, long[]> shapes) {
            in.put(RectifiedFlowStep.X0, doubles(golden, "x"));
        shapes.put(RectifiedFlowStep.X0, new long[] {2, 16, 8, 8});
        in.put(RectifiedFlowStep.NOISE, gaussian(random, 2 * 16 * 8 * 8, 1));
        shapes.put(RectifiedFlowStep.NOISE, new long[] {2, 16, 8, 8});
        in.put(RectifiedFlowStep.SIGMA, new double[] {0.3, 0.8});
        shapes.put(RectifiedFlowStep.SIGMA, new long[] {2});
        in.put(MmditGraph.CONTEXT, doubles(golden, "context"));
        shapes.put(MmditGraph.CONTEXT, new long[] {2, 12, 96});
        in.put(MmditGraph.POOLED, doubles(golden, "y"));
        shapes.put(MmditGraph.POOLED, new long[] {2, 64});
        for (String key : keys) {
            long rows = source.info(key + ".weight").shape()[0];
            long cols = source.info(key + ".weight").shape()[1];
            in.put(key + LoraGraphAdapter.A, gaussian(random, (int) (2 * cols), 0.1));
            shapes.put(key + LoraGraphAdapter.A, new long[] {2, cols});
            in.put(key + LoraGraphAdapter.B, gaussian(random, (int) (rows * 2), 0.1));
            shapes.put(key + LoraGraphAdapter.B, new long[] {rows, 2});
        }

    }

    /**
     * The float32 step graph that training runs (ONNX Runtime's fused products and statistics-keeping norms, all
     * optimizations) gives the float64 graph's gradients, which the test above checks against finite differences,
     * to float32 rounding: 1e-3 of each gradient's largest element.
     */
    @Test
    void float32GradientsMatchTheFloat64Graphs() throws Exception {
        Path weightsFile = resource(dir, "d2_rms/weights.safetensors");
        Path caseFile = resource(dir, "d2_rms/sq8x8.safetensors");
        try (TensorSource source = Safetensors.open(weightsFile); TensorSource golden = Safetensors.open(caseFile)) {
            Map<String, Map<String, double[]>> outputs = new LinkedHashMap<>();
            List<String> trainable = null;
            for (ElementType type : List.of(ElementType.DOUBLE, ElementType.FLOAT)) {
                MmditWeights weights = MmditWeights.of(source, weightsFile, type);
                LoraGraphAdapter adapter = new LoraGraphAdapter(k -> k.contains("joint_blocks"), 2, 4.0, type,
                        k -> source.info(k + ".weight").shape());
                RectifiedFlowStep.StepGraph step = RectifiedFlowStep.lora(MmditConfig.infer(weights), weights,
                        adapter, RectifiedFlowStep.Loss.VELOCITY_MSE);
                Map<String, double[]> in = new LinkedHashMap<>();
                Map<String, long[]> shapes = new LinkedHashMap<>();
                inputs(source, golden, adapter.keys(), new SplittableRandom(7), in, shapes);
                // float32 as the trainers run it: the batch shape fixed, so every static-shape fusion applies.
                OnnxOptions options = type == ElementType.DOUBLE
                        ? OnnxOptions.builder().optimizationLevel(OnnxOptions.OptimizationLevel.BASIC).build()
                        : OnnxOptions.builder().fixedDimension(RectifiedFlowStep.BATCH, 2)
                                .fixedDimension(RectifiedFlowStep.HEIGHT, 8).fixedDimension(RectifiedFlowStep.WIDTH, 8)
                                .fixedDimension(RectifiedFlowStep.SEQUENCE, 12).build();
                try (GraphSession s = GraphSession.create(step.graph(), options)) {
                    outputs.put(type.name(), s.runDoubles(in, shapes));
                }
                trainable = step.trainable();
            }
            Map<String, double[]> reference = outputs.get("DOUBLE");
            Map<String, double[]> fast = outputs.get("FLOAT");
            assertThat(fast.get(RectifiedFlowStep.LOSS)[0])
                    .isCloseTo(reference.get(RectifiedFlowStep.LOSS)[0], org.assertj.core.data.Percentage.withPercentage(1e-3));
            for (String name : trainable) {
                double[] want = reference.get(RectifiedFlowStep.GRAD + name);
                double[] got = fast.get(RectifiedFlowStep.GRAD + name);
                double scale = 0;
                double worst = 0;
                for (int i = 0; i < want.length; i++) {
                    scale = Math.max(scale, Math.abs(want[i]));
                    worst = Math.max(worst, Math.abs(got[i] - want[i]));
                }
                assertThat(scale).as(name).isPositive();
                assertThat(worst / scale).as(name).isLessThan(1e-3);
            }
        }
    }
}
