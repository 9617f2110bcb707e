package org.sd3j.onnx.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

class LoraScanTest {
    @TempDir
    Path dir;

    private LoraScan scan(String... names) {
        SafetensorsWriter w = SafetensorsWriter.create();
        for (String n : names) {
            w.add(n, n.endsWith(".alpha") ? Tensor.zeros(1) : Tensor.zeros(2, 2));
        }
        Path f = dir.resolve("l.safetensors");
        w.write(f);
        try (TensorSource s = Safetensors.open(f)) {
            return LoraScan.of(s, f);
        }
    }

    private static List<String> targets(LoraScan s) {
        return s.modules().stream().map(m -> m.component() + " " + m.describeTarget()).toList();
    }

    @Test
    void recognisesEveryLayoutForTheMmditAndBothClips() {
        LoraScan diffusers = scan("transformer.transformer_blocks.1.attn.add_k_proj.lora_A.weight",
                "transformer.transformer_blocks.1.attn.add_k_proj.lora_B.weight",
                "text_encoder_2.text_model.encoder.layers.3.self_attn.out_proj.lora_A.weight",
                "text_encoder_2.text_model.encoder.layers.3.self_attn.out_proj.lora_B.weight");
        LoraScan peft = scan("base_model.model.proj_out.lora_A.weight", "base_model.model.proj_out.lora_B.weight");
        LoraScan kohya = scan("lora_unet_joint_blocks_0_x_block_adaLN_modulation_1.lora_down.weight",
                "lora_unet_joint_blocks_0_x_block_adaLN_modulation_1.lora_up.weight",
                "lora_unet_joint_blocks_0_x_block_adaLN_modulation_1.alpha",
                "lora_te1_text_model_encoder_layers_0_mlp_fc2.lora_down.weight",
                "lora_te1_text_model_encoder_layers_0_mlp_fc2.lora_up.weight");
        LoraScan comfy = scan("diffusion_model.joint_blocks.2.context_block.mlp.fc1.lora_up.weight",
                "diffusion_model.joint_blocks.2.context_block.mlp.fc1.lora_down.weight",
                "text_encoders.clip_g.transformer.text_model.encoder.layers.1.mlp.fc1.lora_up.weight",
                "text_encoders.clip_g.transformer.text_model.encoder.layers.1.mlp.fc1.lora_down.weight");
        LoraScan original = scan("model.diffusion_model.context_embedder.lora_A.weight",
                "model.diffusion_model.context_embedder.lora_B.weight", "final_layer.linear.lora_A.weight",
                "final_layer.linear.lora_B.weight");

        assertThat(diffusers.style()).isEqualTo(LoraKeyStyle.DIFFUSERS);
        assertThat(targets(diffusers)).containsExactly("CLIP_G text_model.encoder.layers.3.self_attn.out_proj",
                "MMDIT joint_blocks.1.context_block.attn.qkv (k rows)");
        assertThat(targets(peft)).containsExactly("MMDIT final_layer.linear");
        assertThat(kohya.style()).isEqualTo(LoraKeyStyle.KOHYA);
        assertThat(targets(kohya)).containsExactly("CLIP_L text_model.encoder.layers.0.mlp.fc2",
                "MMDIT joint_blocks.0.x_block.adaLN_modulation.1");
        assertThat(kohya.modules().get(1).alphaName())
                .isEqualTo("lora_unet_joint_blocks_0_x_block_adaLN_modulation_1.alpha");
        assertThat(comfy.style()).isEqualTo(LoraKeyStyle.COMFYUI);
        assertThat(comfy.components()).containsExactly(LoraComponent.MMDIT, LoraComponent.CLIP_G);
        assertThat(original.style()).isEqualTo(LoraKeyStyle.ORIGINAL);
        assertThat(targets(original)).containsExactly("MMDIT final_layer.linear", "MMDIT context_embedder");
    }

    @Test
    void clipKeysOfACheckpointFitBothComfyAndOriginalFiles() {
        LoraScan clipOnly = scan("text_encoders.clip_l.transformer.text_model.encoder.layers.0.mlp.fc1.lora_A.weight",
                "text_encoders.clip_l.transformer.text_model.encoder.layers.0.mlp.fc1.lora_B.weight");

        assertThat(clipOnly.style()).isEqualTo(LoraKeyStyle.ORIGINAL);
        assertThat(clipOnly.components()).containsExactly(LoraComponent.CLIP_L);
    }

    @Test
    void oneWeightAdaptedTwiceIsRefused() {
        assertThatThrownBy(() -> scan("model.diffusion_model.context_embedder.lora_A.weight",
                "model.diffusion_model.context_embedder.lora_B.weight", "context_embedder.lora_A.weight",
                "context_embedder.lora_B.weight"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(dir.resolve("l.safetensors") + ": LoRA modules 'context_embedder' and"
                        + " 'model.diffusion_model.context_embedder' adapt the same weight context_embedder; expected"
                        + " one adapter per weight");
    }

    @Test
    void kohyaClipKeysInADiffusersFileAreMixedLayouts() {
        assertThatThrownBy(() -> scan("transformer.proj_out.lora_A.weight", "transformer.proj_out.lora_B.weight",
                "lora_te1_text_model_encoder_layers_0_mlp_fc2.lora_down.weight",
                "lora_te1_text_model_encoder_layers_0_mlp_fc2.lora_up.weight"))
                .hasMessage(dir.resolve("l.safetensors") + ": mixes two LoRA layouts: 2 diffusers/PEFT tensors such as"
                        + " 'transformer.proj_out.lora_A.weight', 'transformer.proj_out.lora_B.weight' and 2 kohya"
                        + " tensors such as 'lora_te1_text_model_encoder_layers_0_mlp_fc2.lora_down.weight',"
                        + " 'lora_te1_text_model_encoder_layers_0_mlp_fc2.lora_up.weight'; expected one layout");
    }
}
