package org.sd3j.onnx.mmdit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.sd3j.conditioning.Conditioning;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.tensor.Tensor;

/**
 * One MMDiT forward of the depth-4 model the issue names (hidden 256, 4 heads, context 77 x 256, pooled 256,
 * random weights, position grid 192): batch 2 at latent 16x32x32 ({@code b2_32}) and batch 1 at 16x64x64
 * ({@code b1_64}, 1024 image tokens). Reference on this 2-core machine: torch.onnx.export under ONNX Runtime
 * 31.6 ms and 72.3 ms; targets <= 30 ms and <= 70 ms.
 *
 * <p>Run: {@code mvn -pl sd3-onnx -Pbench verify -Djmh.args="MmditForward" (after mvn install -DskipTests)}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@Fork(1)
public class MmditForwardBenchmark {

    @Param({"b2_32", "b1_64"})
    public String shape;

    @Param({"PRIMITIVE", "FUSED"})
    public String attention;

    private Path dir;
    private MmditDenoiser denoiser;
    private Tensor latents;
    private Tensor timesteps;
    private Conditioning conditioning;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("sd3j-bench");
        Path file = RandomCheckpoint.write(dir.resolve("d4.safetensors"), 4, 256, 256, 192, false, Set.of(), DType.F32,
                4L);
        denoiser = MmditDenoiser.load(file, OnnxOptions.cpu(), MmditGraph.Attention.valueOf(attention));
        int batch = shape.equals("b2_32") ? 2 : 1;
        int side = shape.equals("b2_32") ? 32 : 64;
        latents = Tensor.zeros(batch, 16, side, side);
        new org.sd3j.random.TorchGenerator(1).fillNormal(latents.asFloatBuffer(), 0, latents.size());
        timesteps = Tensor.full(700f, batch);
        Tensor context = Tensor.zeros(batch, 77, 256);
        new org.sd3j.random.TorchGenerator(2).fillNormal(context.asFloatBuffer(), 0, context.size());
        Tensor pooled = Tensor.zeros(batch, 256);
        new org.sd3j.random.TorchGenerator(3).fillNormal(pooled.asFloatBuffer(), 0, pooled.size());
        conditioning = new Conditioning(context, pooled);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        denoiser.close();
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }

    @Benchmark
    public Tensor forward() {
        return denoiser.velocity(latents, timesteps, conditioning);
    }
}
