package org.sd3j.onnx.mmdit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.tensor.Tensor;

/**
 * Runs the depth-4 random MMDiT forward 30 times and prints the last five timings; with
 * {@code -Dsd3j.profile=/tmp/prof/p} ONNX Runtime also writes a per-op profile (Chrome trace JSON) there.
 * Arguments: attention mode (PRIMITIVE or FUSED), batch, latent side. For finding hot ops, not for reporting
 * figures (use MmditForwardBenchmark).
 */
public final class ProfileForward {
    private ProfileForward() {
    }

    public static void main(String[] a) throws Exception {
        Path dir = Files.createTempDirectory("prof");
        Path f = RandomCheckpoint.write(dir.resolve("d4.safetensors"), 4, 256, 256, 192, false, Set.of(), DType.F32, 4L);
        try (MmditDenoiser d = MmditDenoiser.load(f, (System.getProperty("sd3j.profile") == null ? OnnxOptions.cpu() : OnnxOptions.cpu().withProfiling(Path.of(System.getProperty("sd3j.profile")))), MmditGraph.Attention.valueOf(a[0]))) {
            int b = Integer.parseInt(a[1]), side = Integer.parseInt(a[2]);
            Tensor x = Tensor.full(0.1f, b, 16, side, side);
            Conditioning c = new Conditioning(Tensor.full(0.1f, b, 77, 256), Tensor.full(0.1f, b, 256));
            for (int i = 0; i < 30; i++) {
                long t0 = System.nanoTime();
                d.velocity(x, Tensor.full(700f, b), c);
                if (i >= 25) System.out.println("forward ms " + (System.nanoTime() - t0) / 1e6);
            }
        }
    }
}
