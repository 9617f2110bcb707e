package org.sd3j.train.step;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.onnx.vae.VaeConfig;
import org.sd3j.onnx.vae.VaeWeights;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.AutoencoderTrainer;
import org.sd3j.train.vae.VaeFiles;
import org.sd3j.train.vae.VaeInit;

/**
 * One autoencoder training step with {@link AutoencoderTrainer#defaultConfig()} (1.27 M parameters) on a batch of
 * eight 64x64 images: encoder, sample, decoder, loss and every weight's gradient in one ONNX Runtime call (weights
 * fed as inputs from writable buffers, gradients into reused ones), then clipping and AdamW in Java.
 *
 * <p>Run: {@code mvn -pl sd3-train -Pbench verify -Djmh.args="AutoencoderStep"} (after
 * {@code mvn install -DskipTests}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(1)
public class AutoencoderStepBenchmark {
    private Path dir;
    private TensorSource source;
    private GraphSession session;
    private BoundTrainingStep bound;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("sd3j-vae-bench");
        VaeConfig config = AutoencoderTrainer.defaultConfig();
        Map<String, Tensor> parameters = new LinkedHashMap<>(VaeInit.random(config, 1));
        Path file = dir.resolve("vae.safetensors");
        VaeFiles.write(file, parameters, Map.of());
        source = Safetensors.open(file);
        VaeWeights w = VaeWeights.of(source, file);
        AutoencoderStep.StepGraph step = AutoencoderStep.build(config, w, 64, 64, AutoencoderStep.Reconstruction.MSE,
                1e-6);
        session = GraphSession.create(step.graph(), OnnxOptions.cpu(), GraphSession.WeightBinding.INPUTS);
        Random r = new Random(1);
        Map<String, Tensor> data = new LinkedHashMap<>();
        data.put(AutoencoderStep.IMAGES, BenchSupport.gaussian(r, 0.5, 8, 3, 64, 64));
        data.put(AutoencoderStep.NOISE, BenchSupport.gaussian(r, 1, 8, 16, 8, 8));
        Map<String, Tensor> trained = new LinkedHashMap<>();
        for (String name : step.trainable()) {
            trained.put(name, parameters.get(name));
        }
        bound = new BoundTrainingStep(session, data, trained, AutoencoderStep.LOSS, AutoencoderStep.GRAD);
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
