package org.sd3j.onnx.mmdit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.function.BiFunction;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorInfo;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/** Bad weights and bad inputs give errors that name the tensor, the layout and what was expected. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WeightErrorsTest {
    private static final String P = "model.diffusion_model.";
    private MmditDenoiser plain;

    @BeforeAll
    void load() {
        plain = MmditDenoiser.load(MmditParityTest.resource("d2_plain/weights.safetensors"), OnnxOptions.cpu());
    }

    @AfterAll
    void close() {
        plain.close();
    }

    /** Copies the golden checkpoint, letting {@code edit} drop (null) or replace each tensor. */
    static Path rewrite(Path dir, BiFunction<String, TensorInfo, Object[]> edit) {
        Path out = dir.resolve("edited.safetensors");
        try (TensorSource src = Safetensors.open(MmditParityTest.resource("d2_plain/weights.safetensors"))) {
            SafetensorsWriter w = SafetensorsWriter.create();
            for (String name : src.names()) {
                TensorInfo info = src.info(name);
                Object[] replacement = edit.apply(name, info);
                if (replacement == null) {
                    continue;
                }
                if (replacement.length == 0) {
                    w.add(name, info.dtype(), info.shape(), src.bytes(name));
                } else {
                    w.add((String) replacement[0], (Tensor) replacement[1]);
                }
            }
            w.write(out);
        }
        return out;
    }

    @Test
    void missingTensorIsNamedWithTheLayout(@TempDir Path dir) {
        Path file = rewrite(dir, (n, i) -> n.equals(P + "joint_blocks.1.x_block.mlp.fc2.weight") ? null : new Object[0]);
        assertThatThrownBy(() -> MmditDenoiser.load(file, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(file + ": missing tensor '" + P + "joint_blocks.1.x_block.mlp.fc2.weight' (for"
                        + " 'joint_blocks.1.x_block.mlp.fc2.weight') in the SD3 checkpoint layout with prefix 'model.diffusion_model.'");
    }

    @Test
    void wrongShapeSaysExpectedAndFound(@TempDir Path dir) {
        String target = P + "context_embedder.bias";
        Path file = rewrite(dir, (n, i) -> n.equals(target) ? new Object[] {n, Tensor.zeros(127)} : new Object[0]);
        assertThatThrownBy(() -> MmditDenoiser.load(file, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(file + ": tensor '" + target + "' has shape [127], expected [128] (SD3 checkpoint"
                        + " layout with prefix 'model.diffusion_model.')");
    }

    @Test
    void aFileWithoutMmditWeightsIsRejected(@TempDir Path dir) {
        Path file = dir.resolve("vae.safetensors");
        SafetensorsWriter.create().add("first_stage_model.decoder.conv_in.weight", Tensor.zeros(2, 2)).write(file);
        assertThatThrownBy(() -> MmditDenoiser.load(file, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageStartingWith(file + ": no SD3 MMDiT weights found: expected 'model.diffusion_model."
                        + "x_embedder.proj.weight' (SD3 checkpoint)")
                .hasMessageEndingWith("the file has 1 tensors, e.g. 'first_stage_model.decoder.conv_in.weight'");
    }

    @Test
    void unsupportedWidthIsAnArchitectureError(@TempDir Path dir) {
        Path file = rewrite(dir, (n, i) -> n.equals(P + "x_embedder.proj.weight")
                ? new Object[] {n, Tensor.zeros(100, 16, 2, 2)} : new Object[0]);
        assertThatThrownBy(() -> MmditDenoiser.load(file, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(file + ": unsupported MMDiT architecture: x_embedder width must be a multiple of 64"
                        + " (head dim 64), found 100 (SD3 checkpoint layout with prefix 'model.diffusion_model.')");
    }

    @Test
    void missingBlockIsAnArchitectureError(@TempDir Path dir) {
        Path file = rewrite(dir, (n, i) -> n.startsWith(P + "joint_blocks.1.") ? null : new Object[0]);
        assertThatThrownBy(() -> MmditDenoiser.load(file, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(file + ": unsupported MMDiT architecture: joint block count must be depth 2"
                        + " (x_embedder width 128 / 64), found 1 blocks (SD3 checkpoint layout with prefix"
                        + " 'model.diffusion_model.')");
    }

    private static Conditioning text(int batch) {
        return new Conditioning(Tensor.zeros(batch, 5, 96), Tensor.zeros(batch, 64));
    }

    @Test
    void latentLargerThanThePositionGridIsRejected() {
        assertThatThrownBy(() -> plain.velocity(Tensor.zeros(1, 16, 34, 8), Tensor.zeros(1), text(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("latent size must be at most 32x32 (position grid 16x16 patches, i.e. 256 pixels a side),"
                        + " found 34x8");
    }

    @Test
    void oddLatentSidesAreRejected() {
        assertThatThrownBy(() -> plain.velocity(Tensor.zeros(1, 16, 8, 7), Tensor.zeros(1), text(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("latent height and width must be multiples of the patch size 2 (image sides multiples of"
                        + " 16), found 8x7");
    }

    @Test
    void mismatchedConditioningIsRejected() {
        assertThatThrownBy(() -> plain.velocity(Tensor.zeros(1, 16, 8, 8), Tensor.zeros(1),
                new Conditioning(Tensor.zeros(1, 5, 4096), Tensor.zeros(1, 64))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("context must be [1, S, 96], found Tensor[1, 5, 4096]");
    }

    @Test
    void skippedBlockOutOfRangeIsRejected() {
        assertThatThrownBy(() -> plain.velocitySkipping(Tensor.zeros(1, 16, 8, 8), Tensor.zeros(1), text(1),
                java.util.Set.of(2)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("skippedBlocks must be in [0, 2), found 2");
    }

    @Test
    void anyTextLengthAndLatentSizeUpToTheGridRun() {
        Tensor out = plain.velocity(Tensor.zeros(2, 16, 32, 6), Tensor.full(500f, 2),
                new Conditioning(Tensor.zeros(2, 1, 96), Tensor.zeros(2, 64)));
        assertThat(out.shape()).containsExactly(2, 16, 32, 6);
        assertThat(out.allFinite()).isTrue();
    }

    @Test
    void closedDenoiserRefusesWork() {
        MmditDenoiser d = MmditDenoiser.load(MmditParityTest.resource("d2_plain/weights.safetensors"),
                OnnxOptions.cpu());
        d.close();
        d.close();
        assertThatThrownBy(() -> d.velocity(Tensor.zeros(1, 16, 8, 8), Tensor.zeros(1), text(1)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("denoiser weights.safetensors is closed");
    }

}
