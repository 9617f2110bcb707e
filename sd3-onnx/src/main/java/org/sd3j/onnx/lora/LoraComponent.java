package org.sd3j.onnx.lora;

import org.sd3j.model.EncoderRole;

/** The parts of an SD3 model a LoRA file can adapt. */
public enum LoraComponent {
    /** The MMDiT denoiser. */
    MMDIT("denoiser"),
    /** The CLIP-L text encoder. */
    CLIP_L(EncoderRole.CLIP_L.name()),
    /** The CLIP-G text encoder. */
    CLIP_G(EncoderRole.CLIP_G.name());

    private final String part;

    LoraComponent(String part) {
        this.part = part;
    }

    /**
     * The name {@link org.sd3j.lora.LoraCapable} uses for this part: {@link org.sd3j.lora.LoraCapable#DENOISER}
     * for the MMDiT, the encoder role's name ({@code clip_l}, {@code clip_g}) for the text encoders.
     */
    public String part() {
        return part;
    }

    /** The CLIP component of an encoder role. */
    public static LoraComponent of(EncoderRole role) {
        if (EncoderRole.CLIP_L.equals(role)) {
            return CLIP_L;
        }
        if (EncoderRole.CLIP_G.equals(role)) {
            return CLIP_G;
        }
        throw new IllegalArgumentException("role must be clip_l or clip_g, found " + role);
    }
}
