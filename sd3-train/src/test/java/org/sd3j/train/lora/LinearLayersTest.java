package org.sd3j.train.lora;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.mmdit.RandomCheckpoint;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;

class LinearLayersTest {

    @Test
    void configGivesEveryLinearWithItsShape() {
        Map<String, long[]> s = LinearLayers.of(TestModels.depth2());
        assertThat(s.get("joint_blocks.0.x_block.attn.qkv.weight")).containsExactly(384, 128);
        assertThat(s.get("joint_blocks.0.x_block.adaLN_modulation.1.weight")).containsExactly(9 * 128, 128);
        assertThat(s.get("joint_blocks.1.x_block.adaLN_modulation.1.weight")).containsExactly(6 * 128, 128);
        assertThat(s.get("joint_blocks.0.x_block.attn2.proj.weight")).containsExactly(128, 128);
        assertThat(s.get("joint_blocks.1.context_block.adaLN_modulation.1.weight")).containsExactly(256, 128);
        assertThat(s.get("joint_blocks.1.x_block.mlp.fc2.weight")).containsExactly(128, 512);
        assertThat(s.get("final_layer.linear.weight")).containsExactly(64, 128);
        assertThat(s.get("y_embedder.mlp.0.weight")).containsExactly(128, 64);
        assertThat(s).doesNotContainKeys("joint_blocks.1.context_block.attn.proj.weight",
                "joint_blocks.1.context_block.mlp.fc1.weight", "joint_blocks.1.x_block.attn2.qkv.weight");
        // 5 embedder linears, block 0: 7 (x, with attn2) + 5 (context), block 1: 5 + 2 (last context), 2 final.
        assertThat(s).hasSize(5 + 12 + 7 + 2);
    }

    @Test
    void checkpointHeadersGiveTheSameShapesAsTheInferredConfig(@TempDir Path dir) {
        Path file = RandomCheckpoint.write(dir.resolve("m.safetensors"), 2, 96, 64, 8, true, Set.of(0), DType.F16,
                1);
        try (TensorSource source = Safetensors.open(file)) {
            MmditWeights weights = MmditWeights.of(source, file);
            Map<String, long[]> fromHeaders = LinearLayers.of(weights);
            Map<String, long[]> fromConfig = LinearLayers.of(MmditConfig.infer(weights));
            assertThat(fromHeaders.keySet()).containsExactlyElementsOf(fromConfig.keySet());
            fromConfig.forEach((k, v) -> assertThat(fromHeaders.get(k)).as(k).containsExactly(v));
        }
    }
}
