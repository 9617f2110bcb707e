package org.sd3j.onnx.mmdit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import org.sd3j.onnx.safetensors.DType;

/**
 * Writes the depth-4 random-weight checkpoint of the speed benchmark (hidden 256, 4 heads, context 256,
 * pooled 256, position grid 192, no QK-norm, F32, seed 4: the same weights {@link MmditForwardBenchmark} builds)
 * to the path given as the first argument (default {@code /tmp/sd3j-baseline/d4.safetensors}). The
 * {@code torch.onnx.export} baseline of {@link InterleavedForwardComparison} is exported from this file by
 * {@code sd3-onnx/src/test/python/export_mmdit_baseline.py}.
 *
 * <p>Not a test: compiled with {@code -Pbench} only.
 */
public final class WriteBenchCheckpoint {
    static final Path DEFAULT = Path.of("/tmp/sd3j-baseline/d4.safetensors");

    private WriteBenchCheckpoint() {
    }

    public static void main(String[] args) throws Exception {
        Path file = args.length > 0 ? Path.of(args[0]) : DEFAULT;
        if (file.toAbsolutePath().getParent() != null) {
            Files.createDirectories(file.toAbsolutePath().getParent());
        }
        write(file);
        System.out.println("wrote " + file + " (" + Files.size(file) + " bytes)");
    }

    /** The benchmark checkpoint: depth 4, context 256, pooled 256, grid 192, no QK-norm, F32, seed 4. */
    static Path write(Path file) {
        return RandomCheckpoint.write(file, 4, 256, 256, 192, false, Set.of(), DType.F32, 4L);
    }
}
