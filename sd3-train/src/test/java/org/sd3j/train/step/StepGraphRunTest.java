package org.sd3j.train.step;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.mmdit.RandomCheckpoint;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/** The float32 step graph run as training runs it: loss and gradients written into the same buffers each step. */
class StepGraphRunTest {
    @TempDir
    Path dir;

    static Tensor random(Random r, double std, int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * std);
        }
        return Tensor.of(v, shape);
    }

    /** A LoRA step graph of a random depth-2 MMDiT and inputs for it (batch 2, latents 8x8, 7 context tokens). */
    private record Setup(RectifiedFlowStep.StepGraph step, Map<String, Tensor> in, List<Tensor> grads) {
    }

    private static Setup setup(TensorSource source, MmditWeights w) {
        MmditConfig cfg = MmditConfig.infer(w);
        LoraGraphAdapter adapter = new LoraGraphAdapter(k -> k.contains("joint_blocks"), 4, 4, ElementType.FLOAT,
                k -> source.info(k + ".weight").shape());
        RectifiedFlowStep.StepGraph step = RectifiedFlowStep.lora(cfg, w, adapter,
                RectifiedFlowStep.Loss.VELOCITY_MSE);
        Random r = new Random(4);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put(RectifiedFlowStep.X0, random(r, 1, 2, 16, 8, 8));
        in.put(RectifiedFlowStep.NOISE, random(r, 1, 2, 16, 8, 8));
        in.put(RectifiedFlowStep.SIGMA, Tensor.of(new float[] {0.2f, 0.9f}, 2));
        in.put(MmditGraph.CONTEXT, random(r, 1, 2, 7, 64));
        in.put(MmditGraph.POOLED, random(r, 1, 2, 32));
        List<Tensor> grads = new ArrayList<>();
        for (String p : step.trainable()) {
            long[] s = source.info(p.substring(0, p.lastIndexOf(".lora_")) + ".weight").shape();
            int rows = (int) s[0];
            int cols = (int) (s.length == 2 ? s[1] : s[1] * s[2] * s[3]);
            in.put(p, p.endsWith(LoraGraphAdapter.A) ? random(r, 0.1, 4, cols) : random(r, 0.1, rows, 4));
            grads.add(Tensor.zeros(in.get(p).shape()));
        }
        return new Setup(step, in, grads);
    }

    @Test
    void theSumOfSquaresOutputAddsUpEveryGradientElement() throws Exception {
        Path ckpt = RandomCheckpoint.write(dir.resolve("m.safetensors"), 2, 64, 32, 8, true, Set.of(), DType.F32, 3L);
        try (TensorSource source = Safetensors.open(ckpt)) {
            Setup setup = setup(source, MmditWeights.of(source, ckpt, ElementType.FLOAT));
            try (GraphSession s = GraphSession.create(setup.step().graph(), OnnxOptions.cpu())) {
                Map<String, Tensor> out = s.run(setup.in());
                Tensor squares = out.get(GradientOutputs.SUM_OF_SQUARES);
                assertThat(squares.shape()).isEmpty();
                double sum = 0;
                for (String name : setup.step().trainable()) {
                    Tensor grad = out.get(GradientOutputs.PREFIX + name);
                    double own = 0;
                    for (int k = 0; k < grad.size(); k++) {
                        own += (double) grad.get(k) * grad.get(k);
                    }
                    assertThat(own).as(name).isPositive();
                    sum += own;
                }
                assertThat((double) squares.get(0)).isCloseTo(sum, within(1e-5 * sum));
            }
        }
    }

    @Test
    void aSessionWithTheBatchShapeFixedGivesTheSameLossAndGradients() throws Exception {
        Path ckpt = RandomCheckpoint.write(dir.resolve("m.safetensors"), 2, 64, 32, 8, true, Set.of(), DType.F32, 3L);
        try (TensorSource source = Safetensors.open(ckpt)) {
            Setup setup = setup(source, MmditWeights.of(source, ckpt, ElementType.FLOAT));
            Map<String, Long> dims = RectifiedFlowStep.dimensions(setup.in().get(RectifiedFlowStep.X0),
                    setup.in().get(MmditGraph.CONTEXT));
            assertThat(dims).containsOnly(Map.entry(RectifiedFlowStep.BATCH, 2L),
                    Map.entry(RectifiedFlowStep.HEIGHT, 8L), Map.entry(RectifiedFlowStep.WIDTH, 8L),
                    Map.entry(RectifiedFlowStep.SEQUENCE, 7L));
            OnnxOptions.Builder fixed = OnnxOptions.builder();
            dims.forEach(fixed::fixedDimension);
            try (GraphSession general = GraphSession.create(setup.step().graph(), OnnxOptions.cpu());
                 GraphSession specialized = GraphSession.create(setup.step().graph(), fixed.build())) {
                Map<String, Tensor> a = general.run(setup.in());
                Map<String, Tensor> b = specialized.run(setup.in());
                assertThat(b.keySet()).isEqualTo(a.keySet());
                for (String name : a.keySet()) {
                    // Other fusions may order the float arithmetic differently; the values agree to rounding.
                    double scale = Math.max(1e-6, a.get(name).maxAbsDiff(Tensor.zeros(a.get(name).shape())));
                    assertThat(b.get(name).maxAbsDiff(a.get(name)) / scale).as(name).isLessThan(1e-4);
                }
            }
        }
    }

    @Test
    void boundRunsGiveTheLossAndGradientsOfPlainRunsInReusedBuffers() throws Exception {
        Path ckpt = RandomCheckpoint.write(dir.resolve("m.safetensors"), 2, 64, 32, 8, true, Set.of(), DType.F32, 3L);
        try (TensorSource source = Safetensors.open(ckpt)) {
            Setup setup = setup(source, MmditWeights.of(source, ckpt, ElementType.FLOAT));
            RectifiedFlowStep.StepGraph step = setup.step();
            Map<String, Tensor> in = setup.in();
            List<Tensor> grads = setup.grads();
            try (GraphSession s = GraphSession.create(step.graph(), OnnxOptions.cpu())) {
                Map<String, Tensor> plain = s.run(in);
                List<String> outputs = new ArrayList<>(List.of(RectifiedFlowStep.LOSS));
                step.trainable().forEach(p -> outputs.add(RectifiedFlowStep.GRAD + p));
                Map<String, Tensor> fixed = Map.of(MmditGraph.CONTEXT, in.get(MmditGraph.CONTEXT),
                        MmditGraph.POOLED, in.get(MmditGraph.POOLED));
                List<String> varying = new ArrayList<>(List.of(RectifiedFlowStep.X0, RectifiedFlowStep.NOISE,
                        RectifiedFlowStep.SIGMA));
                varying.addAll(step.trainable());
                Tensor[] outs = new Tensor[outputs.size()];
                outs[0] = Tensor.zeros();
                for (int i = 1; i < outs.length; i++) {
                    outs[i] = grads.get(i - 1);
                }
                Tensor[] inputs = varying.stream().map(in::get).toArray(Tensor[]::new);
                try (GraphSession.Binding b = s.bind(fixed, varying, outputs)) {
                    for (int run = 0; run < 2; run++) {
                        b.run(outs, inputs);
                        assertThat(outs[0].get(0)).isEqualTo(plain.get(RectifiedFlowStep.LOSS).get(0));
                        for (int i = 1; i < outs.length; i++) {
                            assertThat(outs[i].maxAbsDiff(plain.get(outputs.get(i)))).as(outputs.get(i)).isZero();
                        }
                    }
                    // A changed adapter (same tensor, new contents) is seen by the next run.
                    in.get(step.trainable().get(1)).fill(0f);
                    b.run(outs, inputs);
                    assertThat(outs[0].get(0)).isNotEqualTo(plain.get(RectifiedFlowStep.LOSS).get(0));
                }
                assertThat(plain.get(RectifiedFlowStep.LOSS).get(0)).isPositive();
                assertThat(grads.stream().mapToDouble(t -> t.maxAbsDiff(Tensor.zeros(t.shape()))).max().orElse(0))
                        .isPositive();
            }
        }
    }
}
