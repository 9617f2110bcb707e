package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.sd3j.lora.LoraRequest;
import org.sd3j.schedule.TimeShift;

class A1111ParametersTest {
    private static String format(GenerationRequest request) {
        return A1111Parameters.format(request, 4, "euler", 7.0, 42, 64, 64, TimeShift.of(3.0), "flow_match",
                "sd3_medium", List.of());
    }

    @Test
    void hasPromptNegativeAndSettingsLines() {
        String text = format(GenerationRequest.builder("a red fox").negativePrompt("blurry").build());

        assertThat(text).isEqualTo("a red fox\nNegative prompt: blurry\n"
                + "Steps: 4, Sampler: euler, CFG scale: 7.0, Seed: 42, Size: 64x64, Shift: 3.0, Model: sd3_medium");
    }

    @Test
    void leavesOutAnEmptyNegativePrompt() {
        assertThat(format(GenerationRequest.of("a red fox"))).isEqualTo("a red fox\n"
                + "Steps: 4, Sampler: euler, CFG scale: 7.0, Seed: 42, Size: 64x64, Shift: 3.0, Model: sd3_medium");
    }

    @Test
    void writesADynamicShiftAsMu() {
        String text = A1111Parameters.format(GenerationRequest.of("p"), 4, "euler", 7.0, 42, 64, 64,
                TimeShift.dynamic(0.5), "flow_match", "m", List.of());

        assertThat(text).contains(", Shift: mu 0.5,");
    }

    @Test
    void namesANonDefaultSchedule() {
        String text = A1111Parameters.format(GenerationRequest.of("p"), 4, "euler", 7.0, 42, 64, 64,
                TimeShift.of(3.0), "custom", "m", List.of());

        assertThat(text).endsWith("Shift: 3.0, Schedule: custom, Model: m");
    }

    @Test
    void addsTheDenoisingStrengthForImg2img() {
        GenerationRequest request = GenerationRequest.builder("p").initImage(Fixtures.solid(64, 64, 0), 0.6).build();

        assertThat(format(request)).endsWith("Shift: 3.0, Denoising strength: 0.6, Model: sd3_medium");
    }

    @Test
    void marksInpainting() {
        GenerationRequest request = GenerationRequest.builder("p").initImage(Fixtures.solid(64, 64, 0))
                .mask(Fixtures.solid(64, 64, 255)).build();

        assertThat(format(request)).endsWith("Denoising strength: 1.0, Inpainting: true, Model: sd3_medium");
    }

    @Test
    void keepsCommasOutOfTheModelName() {
        String text = A1111Parameters.format(GenerationRequest.of("p"), 4, "euler", 7.0, 42, 64, 64,
                TimeShift.of(3.0), "flow_match", "a,b", List.of());

        assertThat(text).endsWith("Model: a b");
    }

    @Test
    void writesFractionalGuidanceInRootLocale() {
        java.util.Locale previous = java.util.Locale.getDefault();
        java.util.Locale.setDefault(java.util.Locale.GERMANY);
        try {
            String text = A1111Parameters.format(GenerationRequest.of("p"), 4, "euler", 4.5, 42, 64, 64,
                    TimeShift.of(1.5), "flow_match", "m", List.of());

            assertThat(text).contains("CFG scale: 4.5,").contains("Shift: 1.5,");
        } finally {
            java.util.Locale.setDefault(previous);
        }
    }

    @Test
    void keepsAMultiLinePromptAsIs() {
        assertThat(format(GenerationRequest.of("line one\nline two"))).startsWith("line one\nline two\nSteps: 4,");
    }

    @Test
    void writesLorasAsAutomatic1111PromptTags() {
        String text = A1111Parameters.format(GenerationRequest.of("a red fox"), 4, "euler", 7.0, 42, 64, 64,
                TimeShift.of(3.0), "flow_match", "m", List.of(new LoraRequest(Path.of("loras", "fox.safetensors"),
                        0.8), new LoraRequest(Path.of("snow.SAFETENSORS"), -1)));

        assertThat(text).startsWith("a red fox <lora:fox:0.8> <lora:snow:-1.0>\nSteps: 4,");
    }
}
