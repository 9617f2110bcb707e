package org.sd3j.train.step;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.graph.WeightData;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.mmdit.RandomCheckpoint;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;

/**
 * Full-parameter gradients of a small random MMDiT (QK-norm, depth 2) in float64 against five-point finite
 * differences (h = 1e-4), 1e-6 relative to max(|fd|, 1e-4): the position table (read through a Gather), the patch
 * embedding, a fused qkv's k rows, adaLN, the MLP, the RMS-norm scales and the final layer.
 */
class FullParameterGradientTest {
    @TempDir
    Path dir;

    @Test
    void everyKindOfWeightGetsTheFiniteDifferenceGradient() throws Exception {
        Path ckpt = RandomCheckpoint.write(dir.resolve("m.safetensors"), 2, 48, 32, 6, true, Set.of(), DType.F32, 9L);
        SplittableRandom random = new SplittableRandom(3);
        try (TensorSource source = Safetensors.open(ckpt)) {
            MmditWeights w = MmditWeights.of(source, ckpt, ElementType.DOUBLE);
            MmditConfig cfg = MmditConfig.infer(w);
            RectifiedFlowStep.StepGraph step = RectifiedFlowStep.full(cfg, w, RectifiedFlowStep.Loss.PRECONDITIONED);
            String p = "model.diffusion_model.";
            List<String> probe = List.of(p + "pos_embed", p + "x_embedder.proj.weight", p + "x_embedder.proj.bias",
                    p + "joint_blocks.0.x_block.attn.qkv.weight#k", p + "joint_blocks.0.context_block.adaLN_modulation.1.weight",
                    p + "joint_blocks.1.x_block.mlp.fc1.weight", p + "joint_blocks.0.x_block.attn.ln_q.weight",
                    p + "t_embedder.mlp.0.weight", p + "context_embedder.weight", p + "final_layer.linear.weight");
            assertThat(step.trainable()).containsAll(probe);

            Map<String, double[]> in = new LinkedHashMap<>();
            Map<String, long[]> shapes = new LinkedHashMap<>();
            put(in, shapes, RectifiedFlowStep.X0, gaussian(random, 2 * 16 * 8 * 6), 2, 16, 8, 6);
            put(in, shapes, RectifiedFlowStep.NOISE, gaussian(random, 2 * 16 * 8 * 6), 2, 16, 8, 6);
            put(in, shapes, RectifiedFlowStep.SIGMA, new double[] {0.4, 0.7}, 2);
            put(in, shapes, MmditGraph.CONTEXT, gaussian(random, 2 * 5 * 48), 2, 5, 48);
            put(in, shapes, MmditGraph.POOLED, gaussian(random, 2 * 32), 2, 32);
            Map<String, WeightData> weights = step.graph().weights();
            for (String name : probe) {
                WeightData d = weights.get(name);
                DoubleBuffer b = d.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
                double[] v = new double[b.remaining()];
                b.get(v);
                put(in, shapes, name, v, d.shape());
            }
            OnnxOptions options = OnnxOptions.builder().optimizationLevel(OnnxOptions.OptimizationLevel.BASIC).build();
            try (GraphSession s = GraphSession.create(step.graph(), options, GraphSession.WeightBinding.INPUTS)) {
                Map<String, double[]> base = s.runDoubles(in, shapes);
                double h = 1e-4;
                for (String name : probe) {
                    double[] x = in.get(name);
                    for (int k = 0; k < 3; k++) {
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
                        assertThat(Math.abs(analytic - fd) / Math.max(Math.abs(fd), 1e-4))
                                .as("%s[%d]: analytic %s, finite difference %s", name, i, analytic, fd)
                                .isLessThan(1e-6);
                    }
                }
            }
        }
    }

    static void put(Map<String, double[]> in, Map<String, long[]> shapes, String name, double[] v, long... shape) {
        in.put(name, v);
        shapes.put(name, shape);
    }

    static double[] gaussian(SplittableRandom r, int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = r.nextGaussian();
        }
        return d;
    }
}
