package org.sd3j.train.lora;

/** How the down matrix A of a new LoRA adapter is drawn (the up matrix B always starts at zero). */
public enum LoraInit {
    /**
     * {@code A ~ N(0, 1/r^2)}: PEFT's {@code init_lora_weights="gaussian"}, what diffusers' SD3 LoRA script uses;
     * drawn as {@code torch.nn.init.normal_(A, std=1/r)}.
     */
    GAUSSIAN,
    /**
     * {@code A ~ U(-1/sqrt(in), 1/sqrt(in))}: {@code torch.nn.init.kaiming_uniform_(A, a=sqrt(5))}, the default of
     * PEFT and kohya's sd-scripts.
     */
    KAIMING_UNIFORM
}
