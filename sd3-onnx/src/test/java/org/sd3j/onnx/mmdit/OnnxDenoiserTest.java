package org.sd3j.onnx.mmdit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;
import org.sd3j.onnx.convert.CheckpointConverter;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;

/** The converter's optimum-style folder, run through {@link OnnxDenoiser}, matches the reference. */
class OnnxDenoiserTest {

    @Test
    void convertedFolderMatchesReference(@TempDir Path dir) throws Exception {
        CheckpointConverter.Result r = CheckpointConverter.convert(
                MmditParityTest.resource("d2_rms/weights.safetensors"), dir);
        assertThat(r.transformer().qkNorm()).isTrue();
        assertThat(r.shift()).isEqualTo(3.0);
        assertThat(dir.resolve("transformer/model.onnx")).exists();
        assertThat(dir.resolve("transformer/model.onnx_data")).exists();
        assertThat(Files.readString(dir.resolve("scheduler/scheduler_config.json")))
                .contains("\"FlowMatchEulerDiscreteScheduler\"").contains("\"shift\" : 3.0");
        try (OnnxDenoiser d = OnnxDenoiser.load(dir.resolve("transformer/model.onnx"), OnnxOptions.cpu())) {
            for (String c : MmditParityTest.CASES) {
                try (TensorSource golden = Safetensors.open(MmditParityTest.resource("d2_rms/" + c + ".safetensors"))) {
                    assertThat(MmditParityTest.maxDiff(MmditParityTest.run(d, golden), golden, "out_f64_temb64"))
                            .isLessThan(MmditParityTest.TOLERANCE);
                }
            }
        }
    }

    @Test
    void diffusersModelFolderConvertsWithItsSchedulerShift(@TempDir Path dir) throws Exception {
        Path model = Files.createDirectories(dir.resolve("sd3-diffusers"));
        DiffusersLayoutTest.writeDiffusers(MmditParityTest.resource("d2_plain/weights.safetensors"),
                Files.createDirectories(model.resolve("transformer")));
        Files.createDirectories(model.resolve("scheduler"));
        Files.writeString(model.resolve("scheduler/scheduler_config.json"),
                "{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\", \"shift\": 2.5}");
        Path out = dir.resolve("onnx");
        CheckpointConverter.Result r = CheckpointConverter.convert(model, out);
        assertThat(r.shift()).isEqualTo(2.5);
        assertThat(Files.readString(out.resolve("scheduler/scheduler_config.json"))).contains("\"shift\" : 2.5");
        try (OnnxDenoiser d = OnnxDenoiser.load(out.resolve("transformer/model.onnx"), OnnxOptions.cpu());
             TensorSource golden = Safetensors.open(MmditParityTest.resource("d2_plain/rect8x12.safetensors"))) {
            assertThat(MmditParityTest.maxDiff(MmditParityTest.run(d, golden), golden, "out_f64_temb64"))
                    .isLessThan(MmditParityTest.TOLERANCE);
        }
    }

    @Test
    void float16CheckpointConvertsToAModelThatMatchesItsFloat32Twin(@TempDir Path dir) throws Exception {
        Path[] files = HalfCheckpointTest.write(Files.createDirectories(dir.resolve("in")),
                org.sd3j.onnx.safetensors.DType.F16);
        Path out = dir.resolve("onnx");
        CheckpointConverter.convert(files[0], out);
        // The data file keeps float16: about half the float32 size of the weights.
        assertThat(Files.size(out.resolve("transformer/model.onnx_data"))).isLessThan(Files.size(files[1]) * 6 / 10);
        try (OnnxDenoiser converted = OnnxDenoiser.load(out.resolve("transformer/model.onnx"), OnnxOptions.cpu());
             MmditDenoiser wide = MmditDenoiser.load(files[1], OnnxOptions.cpu());
             TensorSource c = Safetensors.open(MmditParityTest.resource("d2_rms/sq8x8.safetensors"))) {
            assertThat(MmditParityTest.run(converted, c).maxAbsDiff(MmditParityTest.run(wide, c))).isLessThan(1e-5);
        }
    }

    @Test
    void missingModelFileIsNamed(@TempDir Path dir) {
        Path missing = dir.resolve("transformer/model.onnx");
        assertThatThrownBy(() -> OnnxDenoiser.load(missing, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(missing + ": no such ONNX model file");
    }

    @Test
    void notAnOnnxFileIsAModelLoadError(@TempDir Path dir) throws Exception {
        Path bogus = Files.writeString(dir.resolve("model.onnx"), "not a protobuf");
        assertThatThrownBy(() -> OnnxDenoiser.load(bogus, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageStartingWith(bogus + ": ONNX Runtime cannot load the model: ");
    }
}
