package org.sd3j;

import java.util.Locale;

import org.sd3j.schedule.TimeShift;

/**
 * The "parameters" text AUTOMATIC1111's web UI writes into PNGs, which most image tools read back:
 * <pre>
 * a red fox
 * Negative prompt: blurry
 * Steps: 28, Sampler: euler, CFG scale: 7.0, Seed: 42, Size: 1024x1024, Shift: 3.0, Model: sd3_medium
 * </pre>
 */
final class A1111Parameters {
    private A1111Parameters() {
    }

    static String format(GenerationRequest request, int steps, String sampler, double guidance, long seed, int width,
                         int height, TimeShift shift, String schedule, String model) {
        StringBuilder sb = new StringBuilder(request.prompt());
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
