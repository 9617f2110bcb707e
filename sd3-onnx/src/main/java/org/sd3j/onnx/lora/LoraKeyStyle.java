package org.sd3j.onnx.lora;

/**
 * The key layouts of LoRA safetensors files that {@link LoraScan} recognises (SPEC §7). Each names the adapted
 * module in its own way; the tensors of a module are {@code <module>.lora_A.weight} [r, in] and
 * {@code <module>.lora_B.weight} [out, r] (or kohya's {@code lora_down} / {@code lora_up}, accepted in every
 * layout, as ComfyUI does), optionally with a scalar {@code <module>.alpha}.
 */
public enum LoraKeyStyle {
    /**
     * diffusers / PEFT: {@code transformer.transformer_blocks.0.attn.to_q} (also PEFT's
     * {@code base_model.model.} prefix), q/k/v as separate modules; CLIP as {@code text_encoder.} (CLIP-L) and
     * {@code text_encoder_2.} (CLIP-G) + transformers names; alpha in {@code __metadata__}'s
     * {@code lora_adapter_metadata} or per-module {@code .alpha} tensors, else r.
     */
    DIFFUSERS("diffusers/PEFT", "'transformer.<diffusers module>.lora_A.weight' / '.lora_B.weight'"),
    /**
     * kohya's sd-scripts: {@code lora_unet_joint_blocks_0_x_block_attn_qkv} (original names, dots as
     * underscores, qkv fused), CLIP as {@code lora_te1_} / {@code lora_te2_} + transformers names with underscores;
     * a scalar {@code .alpha} per module (0 or missing: r).
     */
    KOHYA("kohya", "'lora_unet_<original module>.lora_down.weight' / '.lora_up.weight' / '.alpha'"),
    /**
     * ComfyUI's own files: {@code diffusion_model.joint_blocks.0.x_block.attn.qkv} (original names), CLIP as
     * {@code text_encoders.clip_l.transformer.} / {@code text_encoders.clip_g.transformer.} + transformers names.
     */
    COMFYUI("ComfyUI", "'diffusion_model.<original module>.lora_up.weight' / '.lora_down.weight' / '.alpha'"),
    /**
     * Stability's checkpoint keys: {@code model.diffusion_model.joint_blocks.0.x_block.attn.qkv} or the bare
     * {@code joint_blocks.0.x_block.attn.qkv} (the names of the training step graph's adapter inputs), CLIP as in
     * single-file checkpoints ({@code text_encoders.clip_l.transformer.} ...).
     */
    ORIGINAL("original-key", "'[model.diffusion_model.]<original module>.lora_A.weight' / '.lora_B.weight'");

    private final String label;
    private final String form;

    LoraKeyStyle(String label, String form) {
        this.label = label;
        this.form = form;
    }

    /** How messages call it, e.g. {@code diffusers/PEFT}. */
    public String label() {
        return label;
    }

    /** The MMDiT key form, for messages. */
    String form() {
        return form;
    }
}
