package org.sd3j.train.step;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.mmdit.RandomCheckpoint;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/**
 * One LoRA training step on the depth-4 shapes (hidden 256, batch 2, latent 16x32x32, context 77x256, rank 16
 * on every Linear of the joint blocks), as {@code LoraTrainer} runs it: forward and backward in one ONNX Runtime call
 * through a binding (inputs bound once, every adapter's gradient into a reused buffer), then global-norm clipping
 * and AdamW over the adapters in Java. Target: at most 85 ms per step on the 2-core CI machine.
 *
 * <p>Run: {@code mvn -pl sd3-train -Pbench verify -Djmh.args="LoraStep"} (after {@code mvn install -DskipTests}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class LoraStepBenchmark {
    /** How ONNX Runtime's intra-op threads wait for work ({@link OnnxOptions.Spinning}; DURING_RUN is the default). */
    @Param({"DURING_RUN", "OFF"})
    public OnnxOptions.Spinning spinning;

    private Path dir;
    private TensorSource source;
    private GraphSession session;
    private BoundTrainingStep bound;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("sd3j-train-bench");
        Path ckpt = RandomCheckpoint.write(dir.resolve("d4.safetensors"), 4, 256, 128, 32, false, Set.of(),
                DType.F32, 1L);
        source = Safetensors.open(ckpt);
        MmditWeights w = MmditWeights.of(source, ckpt, ElementType.FLOAT);
        MmditConfig cfg = MmditConfig.infer(w);
        LoraGraphAdapter adapter = new LoraGraphAdapter(k -> k.contains("joint_blocks"), 16, 16, ElementType.FLOAT,
                k -> source.info(k + ".weight").shape());
        RectifiedFlowStep.StepGraph step = RectifiedFlowStep.lora(cfg, w, adapter,
                RectifiedFlowStep.Loss.VELOCITY_MSE);
        session = GraphSession.create(step.graph(), BenchSupport.stepOptions(spinning));
        Random r = new Random(1);
        Map<String, Tensor> data = BenchSupport.rectifiedFlowInputs(r, 0.1);
        Map<String, Tensor> adapters = new LinkedHashMap<>();
        for (String k : adapter.keys()) {
            long[] shape = source.info(k + ".weight").shape();
            int fanIn = (int) (shape.length == 2 ? shape[1] : shape[1] * shape[2] * shape[3]);
            adapters.put(k + LoraGraphAdapter.A, BenchSupport.gaussian(r, 0.1, 16, fanIn));
            adapters.put(k + LoraGraphAdapter.B, BenchSupport.gaussian(r, 0.1, (int) shape[0], 16));
        }
        Map<String, Tensor> parameters = new LinkedHashMap<>();
        for (String name : step.trainable()) {
            parameters.put(name, adapters.get(name));
        }
        bound = new BoundTrainingStep(session, data, parameters, RectifiedFlowStep.LOSS, RectifiedFlowStep.GRAD);
    }


    @Benchmark
    public float step() {
        return bound.run();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        bound.close();
        session.close();
        source.close();
        BenchSupport.deleteFolder(dir);
    }
}
