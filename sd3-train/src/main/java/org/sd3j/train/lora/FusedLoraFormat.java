package org.sd3j.train.lora;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import org.sd3j.onnx.lora.MmditModules;
import org.sd3j.onnx.safetensors.SafetensorsWriter;

/**
 * The layouts that keep the original module names and the fused qkv ({@link LoraLayout#KOHYA},
 * {@link LoraLayout#COMFYUI}, {@link LoraLayout#ORIGINAL}): one module per adapter with its A, B and a float32
 * scalar {@code .alpha}; {@code __metadata__} {@code format = pt}, and for kohya sd-scripts'
 * {@code ss_network_dim} / {@code ss_network_alpha} (those of the first module):
 * <pre>
 * KOHYA     lora_unet_joint_blocks_0_x_block_attn_qkv.lora_down.weight / .lora_up.weight / .alpha
 * COMFYUI   diffusion_model.joint_blocks.0.x_block.attn.qkv.lora_down.weight / .lora_up.weight / .alpha
 * ORIGINAL  model.diffusion_model.joint_blocks.0.x_block.attn.qkv.lora_A.weight / .lora_B.weight / .alpha
 * </pre>
 * Reading is {@link org.sd3j.onnx.lora.LoraFileReader}'s. Internal.
 */
final class FusedLoraFormat {
    static final Set<String> KOHYA_RESERVED_METADATA = Set.of("format", "ss_network_dim", "ss_network_alpha");

    private FusedLoraFormat() {
    }

    static void write(Path file, LoraWeights weights, LoraLayout layout, Map<String, String> provenance) {
        SafetensorsWriter writer = SafetensorsWriter.create().metadata("format", "pt");
        if (layout == LoraLayout.KOHYA) {
            LoraAdapter first = weights.adapters().values().iterator().next();
            writer.metadata("ss_network_dim", Integer.toString(first.rank()));
            writer.metadata("ss_network_alpha", alphaText(first.alpha()));
        }
        boolean upDown = layout != LoraLayout.ORIGINAL;
        for (Map.Entry<String, LoraAdapter> e : weights.adapters().entrySet()) {
            String module = switch (layout) {
                case KOHYA -> MmditModules.toKohya(e.getKey());
                case COMFYUI -> "diffusion_model." + e.getKey();
                default -> "model.diffusion_model." + e.getKey();
            };
            LoraAdapter a = e.getValue();
            writer.add(module + (upDown ? ".lora_down.weight" : ".lora_A.weight"), a.a());
            writer.add(module + (upDown ? ".lora_up.weight" : ".lora_B.weight"), a.b());
            writer.add(module + ".alpha", new float[] {(float) a.alpha()});
        }
        provenance.forEach(writer::metadata);
        writer.write(file);
    }

    private static String alphaText(double alpha) {
        return alpha == Math.rint(alpha) && Math.abs(alpha) < 1e15 ? Long.toString((long) alpha)
                : Double.toString(alpha);
    }
}
