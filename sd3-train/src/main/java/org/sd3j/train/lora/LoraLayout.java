package org.sd3j.train.lora;

/** Key layouts of LoRA safetensors files (SPEC §7); {@link LoraFiles} writes and reads all four. */
public enum LoraLayout {
    /**
     * diffusers / PEFT: {@code transformer.transformer_blocks.0.attn.to_q.lora_A.weight} [r, in] and
     * {@code .lora_B.weight} [out, r], diffusers module names, fused qkv split into {@code to_q/to_k/to_v}
     * ({@code add_q_proj/add_k_proj/add_v_proj} for the context stream); alpha in the {@code __metadata__} entry
     * {@code lora_adapter_metadata} (a JSON PEFT {@code LoraConfig} with {@code transformer.}-prefixed keys, as
     * diffusers' {@code save_lora_weights} writes it); a file without it has scale 1 (alpha = r).
     */
    DIFFUSERS,
    /**
     * kohya's sd-scripts / ComfyUI: {@code lora_unet_joint_blocks_0_x_block_attn_qkv.lora_down.weight} [r, in],
     * {@code .lora_up.weight} [out, r] and {@code .alpha} (a float32 scalar), original module names with dots
     * turned into underscores, qkv fused.
     */
    KOHYA,
    /**
     * ComfyUI's own LoRA files: {@code diffusion_model.joint_blocks.0.x_block.attn.qkv.lora_down.weight},
     * {@code .lora_up.weight}, {@code .alpha}: original module names, qkv fused.
     */
    COMFYUI,
    /**
     * Stability's checkpoint keys: {@code model.diffusion_model.joint_blocks.0.x_block.attn.qkv.lora_A.weight},
     * {@code .lora_B.weight}, {@code .alpha}, qkv fused.
     */
    ORIGINAL
}
