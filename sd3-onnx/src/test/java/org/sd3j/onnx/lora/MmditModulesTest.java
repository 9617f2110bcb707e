package org.sd3j.onnx.lora;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.tensor.Tensor;

class MmditModulesTest {

    @Test
    void fusedQkvIsThreeDiffusersProjectionsPerStream() {
        assertThat(MmditModules.toDiffusers("joint_blocks.3.x_block.attn.qkv")).containsExactly(
                "transformer_blocks.3.attn.to_q", "transformer_blocks.3.attn.to_k", "transformer_blocks.3.attn.to_v");
        assertThat(MmditModules.toDiffusers("joint_blocks.3.context_block.attn.qkv")).containsExactly(
                "transformer_blocks.3.attn.add_q_proj", "transformer_blocks.3.attn.add_k_proj",
                "transformer_blocks.3.attn.add_v_proj");
        assertThat(MmditModules.toDiffusers("joint_blocks.0.x_block.attn2.qkv")).containsExactly(
                "transformer_blocks.0.attn2.to_q", "transformer_blocks.0.attn2.to_k",
                "transformer_blocks.0.attn2.to_v");
    }

    @Test
    void otherModulesFollowSpecSection5() {
        assertThat(MmditModules.toDiffusers("joint_blocks.1.x_block.attn.proj"))
                .containsExactly("transformer_blocks.1.attn.to_out.0");
        assertThat(MmditModules.toDiffusers("joint_blocks.1.context_block.attn.proj"))
                .containsExactly("transformer_blocks.1.attn.to_add_out");
        assertThat(MmditModules.toDiffusers("joint_blocks.1.x_block.mlp.fc1"))
                .containsExactly("transformer_blocks.1.ff.net.0.proj");
        assertThat(MmditModules.toDiffusers("joint_blocks.1.context_block.mlp.fc2"))
                .containsExactly("transformer_blocks.1.ff_context.net.2");
        assertThat(MmditModules.toDiffusers("joint_blocks.1.x_block.adaLN_modulation.1"))
                .containsExactly("transformer_blocks.1.norm1.linear");
        assertThat(MmditModules.toDiffusers("joint_blocks.1.context_block.adaLN_modulation.1"))
                .containsExactly("transformer_blocks.1.norm1_context.linear");
        assertThat(MmditModules.toDiffusers("joint_blocks.0.x_block.attn2.proj"))
                .containsExactly("transformer_blocks.0.attn2.to_out.0");
        assertThat(MmditModules.toDiffusers("t_embedder.mlp.2"))
                .containsExactly("time_text_embed.timestep_embedder.linear_2");
        assertThat(MmditModules.toDiffusers("y_embedder.mlp.0"))
                .containsExactly("time_text_embed.text_embedder.linear_1");
        assertThat(MmditModules.toDiffusers("final_layer.linear")).containsExactly("proj_out");
        assertThat(MmditModules.toDiffusers("final_layer.adaLN_modulation.1")).containsExactly("norm_out.linear");
        assertThat(MmditModules.toDiffusers("context_embedder")).containsExactly("context_embedder");
    }

    @Test
    void everyLinearRoundTripsThroughDiffusersAndKohyaNames() {
        MmditConfig depth2 = new MmditConfig(2, 128, 2, 2, 16, 16, 8, 96, 64, 512, true, java.util.Set.of(0));
        for (String weight : MmditModules.linearShapes(depth2).keySet()) {
            String module = weight.substring(0, weight.length() - ".weight".length());
            List<String> diffusers = MmditModules.toDiffusers(module);
            for (int i = 0; i < diffusers.size(); i++) {
                MmditModules.Part part = MmditModules.fromDiffusers(diffusers.get(i)).orElseThrow();
                assertThat(part.original()).isEqualTo(module);
                assertThat(part.part()).isEqualTo(diffusers.size() == 1 ? MmditModules.Part.WHOLE : i);
            }
            assertThat(MmditModules.fromKohya(MmditModules.toKohya(module))).contains(module);
        }
    }

    @Test
    void kohyaNamesJoinTheOriginalWithUnderscores() {
        assertThat(MmditModules.toKohya("joint_blocks.0.x_block.attn.qkv"))
                .isEqualTo("lora_unet_joint_blocks_0_x_block_attn_qkv");
        assertThat(MmditModules.toKohya("joint_blocks.12.context_block.adaLN_modulation.1"))
                .isEqualTo("lora_unet_joint_blocks_12_context_block_adaLN_modulation_1");
        assertThat(MmditModules.toKohya("final_layer.adaLN_modulation.1"))
                .isEqualTo("lora_unet_final_layer_adaLN_modulation_1");
        assertThat(MmditModules.fromKohya("lora_unet_joint_blocks_12_context_block_mlp_fc2"))
                .contains("joint_blocks.12.context_block.mlp.fc2");
    }

    @Test
    void unknownNamesAreNotLinears() {
        assertThat(MmditModules.fromDiffusers("transformer_blocks.0.attn.norm_q")).isEmpty();
        assertThat(MmditModules.fromDiffusers("text_model.encoder.layers.0.mlp.fc1")).isEmpty();
        assertThat(MmditModules.fromKohya("lora_te1_text_model_encoder_layers_0_mlp_fc1")).isEqualTo(Optional.empty());
        assertThat(MmditModules.fromKohya("lora_unet_joint_blocks_0_context_block_attn2_qkv")).isEmpty();
        assertThat(MmditModules.isLinear("joint_blocks.0.x_block.attn.ln_q")).isFalse();
        assertThat(MmditModules.isLinear("x_embedder.proj")).isFalse();
    }

    @Test
    void onlyTwoChunkAdaLnLayersAreSwapped() {
        assertThat(MmditModules.scaleShiftSwapped("final_layer.adaLN_modulation.1", 256, 128)).isTrue();
        assertThat(MmditModules.scaleShiftSwapped("joint_blocks.1.context_block.adaLN_modulation.1", 256, 128)).isTrue();
        assertThat(MmditModules.scaleShiftSwapped("joint_blocks.0.context_block.adaLN_modulation.1", 768, 128))
                .isFalse();
        assertThat(MmditModules.scaleShiftSwapped("joint_blocks.1.x_block.adaLN_modulation.1", 256, 128)).isFalse();
    }

    @Test
    void swappingScaleShiftHalvesIsItsOwnInverse() {
        Tensor b = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 4, 2);
        Tensor swapped = MmditModules.swapScaleShift(b);
        assertThat(swapped.toArray()).containsExactly(5, 6, 7, 8, 1, 2, 3, 4);
        assertThat(MmditModules.swapScaleShift(swapped).toArray()).containsExactly(b.toArray());
    }
}
