package org.sd3j.train.step;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

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
