package org.sd3j.train.step;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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
import org.sd3j.train.optim.AdamW;
import org.sd3j.train.optim.AdamWSettings;
import org.sd3j.train.optim.GradientClipping;
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
    private GraphSession.Binding binding;
    private Tensor[] inputs;
    private Tensor[] outputs;
    private final Map<String, Tensor> gradients = new LinkedHashMap<>();
    private AdamW adamW;
    private final GradientClipping clipping = GradientClipping.defaults();

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
        List<String> varying = new ArrayList<>(List.of(AutoencoderStep.IMAGES, AutoencoderStep.NOISE));
        List<Tensor> in = new ArrayList<>(List.of(BenchSupport.gaussian(r, 0.5, 8, 3, 64, 64),
                BenchSupport.gaussian(r, 1, 8, 16, 8, 8)));
        List<String> outs = new ArrayList<>(List.of(AutoencoderStep.LOSS));
        List<Tensor> outTensors = new ArrayList<>(List.of(Tensor.zeros()));
        for (String name : step.trainable()) {
            Tensor p = parameters.get(name);
            Tensor g = Tensor.zeros(p.shape());
            gradients.put(name, g);
            varying.add(name);
            in.add(p);
            outs.add(AutoencoderStep.GRAD + name);
            outTensors.add(g);
        }
        binding = session.bind(Map.of(), varying, outs);
        inputs = in.toArray(Tensor[]::new);
        outputs = outTensors.toArray(Tensor[]::new);
        adamW = AdamW.create(parameters, AdamWSettings.defaults());
    }

    @Benchmark
    public float step() {
        binding.run(outputs, inputs);
        clipping.clip(gradients);
        adamW.step(gradients);
        return outputs[0].get(0);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        binding.close();
        session.close();
        source.close();
        BenchSupport.deleteFolder(dir);
    }
}
