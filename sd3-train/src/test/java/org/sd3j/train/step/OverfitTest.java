package org.sd3j.train.step;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
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
import org.sd3j.tensor.Tensor;
import org.sd3j.train.optim.AdamW;
import org.sd3j.train.optim.AdamWSettings;

/**
 * The whole chain (step graph, gradients into float32, AdamW on the weights the graph reads) can fit: one fixed
 * batch (noise and timesteps fixed too) of a small random MMDiT goes from a loss of about 3.5 to nearly 0.
 */
class OverfitTest {
    @TempDir
    Path dir;

    static Tensor gaussian(Random r, int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Tensor.of(v, shape);
    }

    @Test
    void fullParameterAdamWFitsAFixedBatch() {
        Path ckpt = RandomCheckpoint.write(dir.resolve("m.safetensors"), 2, 32, 16, 8, false, Set.of(), DType.F32, 1L);
        try (TensorSource source = Safetensors.open(ckpt)) {
            MmditWeights w = MmditWeights.of(source, ckpt, ElementType.FLOAT);
            RectifiedFlowStep.StepGraph step = RectifiedFlowStep.full(MmditConfig.infer(w), w,
                    RectifiedFlowStep.Loss.VELOCITY_MSE);
            Random r = new Random(1);
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put(RectifiedFlowStep.X0, gaussian(r, 2, 16, 8, 8));
            in.put(RectifiedFlowStep.NOISE, gaussian(r, 2, 16, 8, 8));
            in.put(RectifiedFlowStep.SIGMA, Tensor.of(new float[] {0.5f, 0.5f}, 2));
            in.put(MmditGraph.CONTEXT, gaussian(r, 2, 5, 32));
            in.put(MmditGraph.POOLED, gaussian(r, 2, 16));
            Map<String, Tensor> params = new LinkedHashMap<>();
            for (String n : step.trainable()) {
                WeightData d = step.graph().weights().get(n);
                Tensor t = Tensor.zeros(Arrays.stream(d.shape()).mapToInt(Math::toIntExact).toArray());
                t.asFloatBuffer().put(d.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
                params.put(n, t);
                in.put(n, t); // overrides the checkpoint's copy: the graph reads the tensors AdamW updates
            }
            AdamW adamW = AdamW.create(params, AdamWSettings.defaults().withLearningRate(1e-3));
            try (GraphSession s = GraphSession.create(step.graph(), OnnxOptions.cpu(),
                    GraphSession.WeightBinding.INPUTS)) {
                float first = 0;
                float last = 0;
                for (int i = 0; i < 150; i++) {
                    Map<String, Tensor> out = s.run(in);
                    Map<String, Tensor> grads = new LinkedHashMap<>();
                    step.trainable().forEach(n -> grads.put(n, out.get(RectifiedFlowStep.GRAD + n)));
                    adamW.step(grads);
                    last = out.get(RectifiedFlowStep.LOSS).get(0);
                    if (i == 0) {
                        first = last;
                    }
                }
                // Observed 3.48 -> below 1e-4 within 100 steps.
                assertThat(first).isGreaterThan(1f);
                assertThat(last).isLessThan(1e-2f);
            }
        }
    }
}
