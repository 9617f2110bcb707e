package org.sd3j.train.step;

import java.io.IOException;
import java.nio.ByteOrder;
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
import org.sd3j.onnx.graph.WeightData;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.mmdit.RandomCheckpoint;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/**
 * One full-parameter training step on the depth-4 shapes (hidden 256, batch 2, latent 16x32x32, context
 * 77x256): forward and backward of every weight in one ONNX Runtime call (weights fed as inputs from writable
 * buffers, gradients into reused ones), then global-norm clipping and AdamW over all parameters in Java. Target:
 * at most 110 ms per step on the 2-core CI machine.
 *
 * <p>Run: {@code mvn -pl sd3-train -Pbench verify -Djmh.args="FullStep"} (after {@code mvn install -DskipTests}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class FullStepBenchmark {
    /** How ONNX Runtime's intra-op threads wait for work ({@link OnnxOptions.Spinning}; DURING_RUN is the default). */
    @Param({"DURING_RUN", "OFF"})
    public OnnxOptions.Spinning spinning;

    private Path dir;
    private TensorSource source;
    private GraphSession session;
    private BoundTrainingStep bound;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("sd3j-full-bench");
        Path ckpt = RandomCheckpoint.write(dir.resolve("d4.safetensors"), 4, 256, 128, 32, false, Set.of(),
                DType.F32, 1L);
        source = Safetensors.open(ckpt);
        MmditWeights w = MmditWeights.of(source, ckpt, ElementType.FLOAT);
        MmditConfig cfg = MmditConfig.infer(w);
        RectifiedFlowStep.StepGraph step = RectifiedFlowStep.full(cfg, w, RectifiedFlowStep.Loss.VELOCITY_MSE);
        session = GraphSession.create(step.graph(), BenchSupport.stepOptions(spinning),
                GraphSession.WeightBinding.INPUTS);
        Random r = new Random(1);
        Map<String, Tensor> data = BenchSupport.rectifiedFlowInputs(r, 0.5);
        Map<String, Tensor> parameters = new LinkedHashMap<>();
        for (String name : step.trainable()) {
            WeightData d = step.graph().weights().get(name);
            int[] shape = new int[d.shape().length];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = Math.toIntExact(d.shape()[i]);
            }
            Tensor p = Tensor.zeros(shape); // writable copy of the weight
            p.asFloatBuffer().put(d.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
            parameters.put(name, p);
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
