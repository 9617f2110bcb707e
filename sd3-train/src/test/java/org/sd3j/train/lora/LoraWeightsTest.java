package org.sd3j.train.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.TensorAssertions;
import org.sd3j.train.optim.TorchGolden;

class LoraWeightsTest {

    @Test
    void initializeGivesZeroBAndGraphParameterNames() {
        List<String> keys = LoraTargets.diffusersDefault().select(TestModels.shapes());
        LoraWeights w = LoraWeights.initialize(keys, TestModels.shapes(), LoraSpec.diffusersDefault(1));
        assertThat(w.keys()).containsExactlyElementsOf(keys);
        LoraAdapter qkv = w.adapter("joint_blocks.0.x_block.attn.qkv");
        assertThat(qkv.a().shape()).containsExactly(4, 128);
        assertThat(qkv.b().shape()).containsExactly(384, 4);
        assertThat(qkv.b().toArray()).containsOnly(0f);
        assertThat(qkv.alpha()).isEqualTo(4.0);
        assertThat(qkv.scale()).isEqualTo(1.0);
        assertThat(w.parameters().keySet()).startsWith("joint_blocks.0.x_block.attn.qkv.lora_A.weight",
                "joint_blocks.0.x_block.attn.qkv.lora_B.weight", "joint_blocks.0.x_block.attn.proj.lora_A.weight");
        assertThat(w.parameters().get("joint_blocks.0.x_block.attn.qkv.lora_A.weight")).isSameAs(qkv.a());
        assertThat(w.parameterCount()).isEqualTo(4L * (128 + 384) * 4 + 4L * (128 + 128) * 3);
    }

    @ParameterizedTest
    @CsvSource({"gaussian_r4, GAUSSIAN, 4, 42", "gaussian_r3, GAUSSIAN, 3, 7", "kaiming_r4, KAIMING_UNIFORM, 4, 42",
        "kaiming_r2, KAIMING_UNIFORM, 2, -3"})
    void initialDownMatricesAreTorchsDrawsBitForBit(String name, LoraInit init, int rank, long seed) {
        try (TorchGolden golden = TorchGolden.open()) {
            Map<String, Tensor> expected = golden.group("init/" + name + "/");
            Map<String, long[]> shapes = new LinkedHashMap<>();
            expected.forEach((i, t) -> shapes.put("m" + i + ".weight", new long[] {7, t.dim(1)}));
            List<String> keys = expected.keySet().stream().map(i -> "m" + i).toList();
            LoraWeights w = LoraWeights.initialize(keys, shapes, new LoraSpec(rank, 1, init, seed));
            expected.forEach((i, t) -> TensorAssertions.assertBitEqual(w.adapter("m" + i).a(), t, name + "/" + i));
        }
    }

    @Test
    void sameSeedSameWeights() {
        List<String> keys = List.of("joint_blocks.0.x_block.mlp.fc1");
        LoraWeights a = LoraWeights.initialize(keys, TestModels.shapes(), LoraSpec.kohyaDefault(9));
        LoraWeights b = LoraWeights.initialize(keys, TestModels.shapes(), LoraSpec.kohyaDefault(9));
        TensorAssertions.assertBitEqual(a.adapter(keys.get(0)).a(), b.adapter(keys.get(0)).a(), "A");
        assertThat(a.adapter(keys.get(0)).alpha()).isEqualTo(1.0);
    }

    @Test
    void keysMustNameTwoDimensionalModelWeights() {
        assertThatThrownBy(() -> LoraWeights.initialize(List.of("joint_blocks.7.x_block.attn.qkv"),
                TestModels.shapes(), LoraSpec.diffusersDefault(0)))
                .hasMessage("keys must name 2-D model weights, found 'joint_blocks.7.x_block.attn.qkv' with no"
                        + " 'joint_blocks.7.x_block.attn.qkv.weight' in modelShapes");
        assertThatThrownBy(() -> LoraWeights.initialize(List.of("context_embedder", "context_embedder"),
                TestModels.shapes(), LoraSpec.diffusersDefault(0)))
                .hasMessage("keys must be unique, found 'context_embedder' twice");
    }

    @Test
    void specAndAdapterAreChecked() {
        assertThatThrownBy(() -> new LoraSpec(0, 1, LoraInit.GAUSSIAN, 0)).hasMessage("rank must be >= 1, found 0");
        assertThatThrownBy(() -> new LoraSpec(4, 0, LoraInit.GAUSSIAN, 0))
                .hasMessage("alpha must be finite and > 0, found 0.0");
        assertThatThrownBy(() -> new LoraAdapter(Tensor.zeros(4, 8), Tensor.zeros(16, 3), 4))
                .hasMessage("b must have shape [out, 4] to match a Tensor[4, 8], found Tensor[16, 3]");
    }

    @Test
    void deltaIsScaleTimesBA() {
        LoraAdapter a = new LoraAdapter(Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3),
                Tensor.of(new float[] {1, 0, 0, 1}, 2, 2), 1);
        assertThat(a.delta().toArray()).containsExactly(0.5f, 1f, 1.5f, 2f, 2.5f, 3f);
    }
}
