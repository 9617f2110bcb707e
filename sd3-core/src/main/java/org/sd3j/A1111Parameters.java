package org.sd3j;

import java.util.List;
import java.util.Locale;

import org.sd3j.lora.LoraRequest;

import org.sd3j.schedule.TimeShift;

/**
 * The "parameters" text AUTOMATIC1111's web UI writes into PNGs, which most image tools read back:
 * <pre>
 * a red fox
 * Negative prompt: blurry
 * Steps: 28, Sampler: euler, CFG scale: 7.0, Seed: 42, Size: 1024x1024, Shift: 3.0, Model: sd3_medium
 * </pre>
 * LoRAs are written as AUTOMATIC1111 users type them into the prompt, {@code <lora:name:weight>} after the prompt
 * (name: the file name without {@code .safetensors}), so that its web UI and the tools that read its parameters
 * find them.
 */
final class A1111Parameters {
    private A1111Parameters() {
    }

    static String format(GenerationRequest request, int steps, String sampler, double guidance, long seed, int width,
                         int height, TimeShift shift, String schedule, String model, List<LoraRequest> loras) {
        StringBuilder sb = new StringBuilder(request.prompt());
        for (LoraRequest lora : loras) {
            sb.append(sb.length() == 0 ? "" : " ").append("<lora:").append(lora.name()).append(':')
                    .append(number(lora.weight())).append('>');
        }
        if (!request.negativePrompt().isEmpty()) {
            sb.append("\nNegative prompt: ").append(request.negativePrompt());
        }
        sb.append('\n')
                .append("Steps: ").append(steps)
                .append(", Sampler: ").append(sampler)
                .append(", CFG scale: ").append(number(guidance))
                .append(", Seed: ").append(seed)
                .append(", Size: ").append(width).append('x').append(height)
                .append(", Shift: ").append(shift.isDynamic() ? "mu " + number(shift.mu()) : number(shift.factor()));
        if (!"flow_match".equals(schedule)) {
            sb.append(", Schedule: ").append(schedule);
        }
        if (request.initImage().isPresent()) {
            sb.append(", Denoising strength: ").append(number(request.strength()));
        }
        if (request.mask().isPresent()) {
            sb.append(", Inpainting: true");
        }
        sb.append(", Model: ").append(model.replace(',', ' '));
        return sb.toString();
    }

    private static String number(double v) {
        return String.format(Locale.ROOT, "%s", v);
    }
}
