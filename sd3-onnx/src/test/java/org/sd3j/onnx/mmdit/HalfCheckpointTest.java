package org.sd3j.onnx.mmdit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Half;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/**
 * float16 and bfloat16 checkpoints load (widened to float32) and compute what the same values stored as float32
 * compute.
 */
class HalfCheckpointTest {

    /** The golden d2_rms weights rounded to {@code dtype}, stored as {@code dtype} and as float32. */
    static Path[] write(Path dir, DType dtype) {
        SafetensorsWriter half = SafetensorsWriter.create();
        SafetensorsWriter wide = SafetensorsWriter.create();
        try (TensorSource src = Safetensors.open(MmditParityTest.resource("d2_rms/weights.safetensors"))) {
            for (String name : src.names()) {
                Tensor t = src.toFloatTensor(name);
                for (int i = 0; i < t.size(); i++) {
                    t.set(i, dtype == DType.F16 ? Half.f16ToFloat(Half.floatToF16(t.get(i)))
                            : Half.bf16ToFloat(Half.floatToBf16(t.get(i))));
                }
                half.addAs(name, t, dtype);
                wide.add(name, t);
            }
        }
        Path h = dir.resolve("half.safetensors");
        Path w = dir.resolve("wide.safetensors");
        half.write(h);
        wide.write(w);
        return new Path[] {h, w};
    }

    private static void assertSameOutputs(Path[] files) {
        try (MmditDenoiser half = MmditDenoiser.load(files[0], OnnxOptions.cpu());
             MmditDenoiser wide = MmditDenoiser.load(files[1], OnnxOptions.cpu());
             TensorSource c = Safetensors.open(MmditParityTest.resource("d2_rms/sq8x8.safetensors"))) {
            Tensor a = MmditParityTest.run(half, c);
            Tensor b = MmditParityTest.run(wide, c);
            // Identical float32 weights after widening: the graphs compute the same thing.
            assertThat(a.maxAbsDiff(b)).isLessThan(1e-6);
            // And rounding the weights moved the output, so the test would see a half-precision graph.
            assertThat(b.maxAbsDiff(c.toFloatTensor("out"))).isGreaterThan(1e-5);
        }
    }

    @Test
    void float16CheckpointMatchesItsFloat32Twin(@TempDir Path dir) {
        assertSameOutputs(write(dir, DType.F16));
    }

    @Test
    void bfloat16CheckpointMatchesItsFloat32Twin(@TempDir Path dir) {
        assertSameOutputs(write(dir, DType.BF16));
    }
}
