package org.sd3j.train.vae;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.onnx.vae.VaeConfig;
import org.sd3j.onnx.vae.VaeWeights;
import org.sd3j.tensor.Tensor;

class VaeInitTest {
    private static final VaeConfig CONFIG = new VaeConfig(new int[] {32, 64}, 2, 4, 3, true, true, 1, 0, 8);

    @TempDir
    Path dir;

    @Test
    void theGeometryIsInferredBackFromTheWrittenWeights() {
        Path file = dir.resolve("vae.safetensors");
        VaeFiles.write(file, VaeInit.random(CONFIG, 1), Map.of());
        try (TensorSource source = Safetensors.open(file)) {
            assertThat(source.names()).allMatch(n -> n.startsWith("first_stage_model."));
            VaeConfig inferred = VaeConfig.infer(VaeWeights.of(source, file));
            assertThat(inferred.levelChannels()).containsExactly(32, 64);
            assertThat(inferred.resBlocks()).isEqualTo(2);
            assertThat(inferred.zChannels()).isEqualTo(4);
            assertThat(inferred.hasEncoder()).isTrue();
            assertThat(inferred.hasDecoder()).isTrue();
        }
    }

    @Test
    void convolutionsAreUniformWithinTorchsBoundAndNormsStartAtTheIdentity() {
        Map<String, Tensor> w = VaeInit.random(CONFIG, 1);
        Tensor conv = w.get("encoder.down.1.block.0.conv1.weight"); // [64, 32, 3, 3]: fan-in 288
        assertThat(conv.shape()).containsExactly(64, 32, 3, 3);
        double bound = 1 / Math.sqrt(288);
        double max = 0;
        for (int i = 0; i < conv.size(); i++) {
            max = Math.max(max, Math.abs(conv.get(i)));
        }
        assertThat(max).isLessThanOrEqualTo(bound).isGreaterThan(0.95 * bound);
        assertThat(w.get("encoder.down.1.block.0.nin_shortcut.weight").shape()).containsExactly(64, 32, 1, 1);
        assertThat(w.get("decoder.mid.attn_1.norm.weight").maxAbsDiff(Tensor.full(1f, 64))).isZero();
        assertThat(w.get("decoder.mid.attn_1.norm.bias").maxAbsDiff(Tensor.zeros(64))).isZero();
        assertThat(VaeInit.parameterCount(CONFIG)).isEqualTo(w.values().stream().mapToLong(Tensor::size).sum());
    }

    @Test
    void aSeedAlwaysGivesTheSameWeights() {
        Map<String, Tensor> a = VaeInit.random(CONFIG, 5);
        Map<String, Tensor> b = VaeInit.random(CONFIG, 5);
        Map<String, Tensor> c = VaeInit.random(CONFIG, 6);
        assertThat(a.keySet()).containsExactlyElementsOf(b.keySet());
        a.forEach((k, t) -> assertThat(t.maxAbsDiff(b.get(k))).as(k).isZero());
        assertThat(a.get("decoder.conv_out.weight").maxAbsDiff(c.get("decoder.conv_out.weight"))).isPositive();
    }

    @Test
    void channelsMustBeMultiplesOfTheGroups() {
        assertThatThrownBy(() -> VaeInit.random(new VaeConfig(new int[] {20, 32}, 1, 4, 3, true, true, 1, 0, 8), 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("config.levelChannels must be positive multiples of normGroups 8, found [20, 32]");
    }
}
