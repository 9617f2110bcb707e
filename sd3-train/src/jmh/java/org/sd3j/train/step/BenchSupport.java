package org.sd3j.train.step;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.tensor.Tensor;

/** What the training-step benchmarks share: seeded Gaussian inputs and a temporary folder's removal. */
final class BenchSupport {
    private BenchSupport() {
    }

    /** A tensor of N(0, std^2) draws from {@code r}. */
    static Tensor gaussian(Random r, double std, int... shape) {
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

    /**
     * The rectified-flow step graph's data inputs at the shapes (batch 2, latent 16x32x32, context 77x256,
     * pooled 128), N(0, std^2) draws, timesteps 0.3 and 0.7, in binding order.
     */
    static Map<String, Tensor> rectifiedFlowInputs(Random r, double std) {
        Map<String, Tensor> data = new LinkedHashMap<>();
        data.put(RectifiedFlowStep.X0, gaussian(r, std, 2, 16, 32, 32));
        data.put(RectifiedFlowStep.NOISE, gaussian(r, std, 2, 16, 32, 32));
        data.put(RectifiedFlowStep.SIGMA, Tensor.of(new float[] {0.3f, 0.7f}, 2));
        data.put(MmditGraph.CONTEXT, gaussian(r, std, 2, 77, 256));
        data.put(MmditGraph.POOLED, gaussian(r, std, 2, 128));
        return data;
    }

    /**
     * Session options as the trainers make them for the inputs of {@link #rectifiedFlowInputs}: the graph's
     * symbolic dimensions fixed to those sizes (one session per batch shape).
     */
    static OnnxOptions stepOptions(OnnxOptions.Spinning spinning) {
        return OnnxOptions.builder().spinning(spinning).fixedDimension(RectifiedFlowStep.BATCH, 2)
                .fixedDimension(RectifiedFlowStep.HEIGHT, 32).fixedDimension(RectifiedFlowStep.WIDTH, 32)
                .fixedDimension(RectifiedFlowStep.SEQUENCE, 77).build();
    }

    /** Deletes {@code dir} and the files in it (the benchmarks write no subfolders). */
    static void deleteFolder(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }
}
