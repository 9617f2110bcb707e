package org.sd3j.train.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.sd3j.train.lora.LoraTargets.NameStyle;

class LoraTargetsTest {

    @Test
    void diffusersDefaultIsTheAttentionProjectionsOfBothStreams() {
        assertThat(LoraTargets.diffusersDefault().select(TestModels.shapes())).containsExactly(
                "joint_blocks.0.x_block.attn.qkv", "joint_blocks.0.x_block.attn.proj",
                "joint_blocks.0.context_block.attn.qkv", "joint_blocks.0.context_block.attn.proj",
                "joint_blocks.1.x_block.attn.qkv", "joint_blocks.1.x_block.attn.proj",
                "joint_blocks.1.context_block.attn.qkv");
    }

    @Test
    void diffusersDefaultEqualsDiffusersTrainingScriptTargetModules() {
        // train_dreambooth_lora_sd3.py: ["attn.add_k_proj", "attn.add_q_proj", "attn.add_v_proj", "attn.to_add_out",
        // "attn.to_k", "attn.to_out.0", "attn.to_q", "attn.to_v"], matched by PEFT as dotted suffixes.
        LoraTargets script = LoraTargets.regex(NameStyle.DIFFUSERS,
                "(.*\\.)?attn\\.(add_k_proj|add_q_proj|add_v_proj|to_add_out|to_k|to_out\\.0|to_q|to_v)");
        assertThat(script.select(TestModels.shapes()))
                .containsExactlyElementsOf(LoraTargets.diffusersDefault().select(TestModels.shapes()));
    }

    @Test
    void kohyaIsEveryLinearInTheBlocks() {
        List<String> keys = LoraTargets.kohya().select(TestModels.shapes());
        assertThat(keys).hasSize(12 + 7).allMatch(k -> k.startsWith("joint_blocks."))
                .contains("joint_blocks.0.x_block.attn2.qkv", "joint_blocks.1.context_block.adaLN_modulation.1",
                        "joint_blocks.0.context_block.mlp.fc1");
        assertThat(LoraTargets.allLinear().select(TestModels.shapes())).hasSize(26)
                .contains("t_embedder.mlp.0", "context_embedder", "final_layer.adaLN_modulation.1");
    }

    @Test
    void globsOverOriginalNames() {
        assertThat(LoraTargets.glob(NameStyle.ORIGINAL, "joint_blocks.*.x_block.mlp.*").select(TestModels.shapes()))
                .containsExactly("joint_blocks.0.x_block.mlp.fc1", "joint_blocks.0.x_block.mlp.fc2",
                        "joint_blocks.1.x_block.mlp.fc1", "joint_blocks.1.x_block.mlp.fc2");
        assertThat(LoraTargets.glob(NameStyle.ORIGINAL, "**.attn?.qkv").select(TestModels.shapes()))
                .containsExactly("joint_blocks.0.x_block.attn2.qkv");
    }

    @Test
    void globsOverDiffusersNamesSelectAFusedQkvWhenAllThreeMatch() {
        assertThat(LoraTargets.glob(NameStyle.DIFFUSERS, "**.attn.to_?").select(TestModels.shapes()))
                .containsExactly("joint_blocks.0.x_block.attn.qkv", "joint_blocks.1.x_block.attn.qkv");
        assertThat(LoraTargets.glob(NameStyle.DIFFUSERS, "proj_out", "norm_out.linear").select(TestModels.shapes()))
                .containsExactly("final_layer.linear", "final_layer.adaLN_modulation.1");
    }

    @Test
    void aPatternThatSplitsAFusedQkvIsRejected() {
        LoraTargets qOnly = LoraTargets.regex(NameStyle.DIFFUSERS, "transformer_blocks\\.0\\.attn\\.to_q");
        assertThatThrownBy(() -> qOnly.select(TestModels.shapes()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("patterns must select all or none of a fused projection's [transformer_blocks.0.attn.to_q,"
                        + " transformer_blocks.0.attn.to_k, transformer_blocks.0.attn.to_v], found only"
                        + " [transformer_blocks.0.attn.to_q] for regex DIFFUSERS"
                        + " [transformer_blocks\\.0\\.attn\\.to_q]:"
                        + " the graph's 'joint_blocks.0.x_block.attn.qkv' is one adapter over q, k and v");
    }

    @Test
    void selectingNothingIsAnError() {
        assertThatThrownBy(() -> LoraTargets.glob(NameStyle.ORIGINAL, "nothing.*").select(TestModels.shapes()))
                .hasMessage("targets must select at least one Linear module, found none for glob ORIGINAL [nothing.*]"
                        + " among 26 Linear modules such as 't_embedder.mlp.0'");
    }

    @Test
    void patternsAreChecked() {
        assertThatThrownBy(() -> LoraTargets.regex(NameStyle.ORIGINAL, "(unclosed"))
                .hasMessageStartingWith("regexes must be valid regular expressions, found '(unclosed': ");
        assertThatThrownBy(() -> LoraTargets.glob(NameStyle.ORIGINAL))
                .hasMessage("patterns must be non-empty, found none");
        assertThatThrownBy(() -> LoraTargets.glob(NameStyle.ORIGINAL, ""))
                .hasMessage("patterns must be non-empty strings, found ''");
    }
}
