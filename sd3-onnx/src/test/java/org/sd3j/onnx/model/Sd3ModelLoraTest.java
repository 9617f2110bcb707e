package org.sd3j.onnx.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.GenerationRequest;
import org.sd3j.GenerationResult;
import org.sd3j.ModelLoadException;
import org.sd3j.onnx.clip.ClipConfig;
import org.sd3j.onnx.convert.CheckpointConverter;
import org.sd3j.onnx.lora.ClipModules;
import org.sd3j.onnx.lora.LoraComponent;
import org.sd3j.onnx.lora.LoraFixtures;
import org.sd3j.onnx.lora.LoraKeyStyle;
import org.sd3j.onnx.lora.MergedLora;
import org.sd3j.onnx.lora.MmditModules;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditDenoiser;
import org.sd3j.onnx.model.CombinedCheckpoint.Part;
import org.sd3j.onnx.runtime.OnnxOptions;

/**
 * Whole generations with a LoRA that adapts the MMDiT and CLIP-L of the tiny SD3 (kohya keys): merged at load
 * ({@link Sd3Model.Options#withLora}) and switchable ({@code Sd3Pipeline.Builder.lora}) give the same image (latents
 * within 1e-4 of their largest magnitude, 8-bit pixels within 2 levels), weight 0 gives the plain model's image bit
 * for bit, and the ONNX folder {@code sd3 convert} writes takes the LoRA by its initializer names with exactly the
 * checkpoint's result.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Sd3ModelLoraTest {
    private Path dir;
    private Path checkpoint;
    private Path folder;
    private Path lora;
    private Sd3Model plain;
    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    void setUp(@TempDir Path tmp) {
        dir = tmp;
        checkpoint = CombinedCheckpoint.write(dir, EnumSet.allOf(Part.class), n -> false, "tiny.safetensors");
        folder = dir.resolve("onnx");
        CheckpointConverter.convert(checkpoint, folder, CombinedCheckpoint.CLIP_HEADS);
        plain = load(checkpoint, options());
        MmditConfig mmdit = ((MmditDenoiser) plain.denoiser()).config();
        Map<String, long[]> shapes = MmditModules.linearShapes(mmdit);
        List<String> modules = List.of("joint_blocks.0.x_block.attn.qkv", "joint_blocks.0.context_block.attn.qkv",
                "joint_blocks.0.x_block.mlp.fc1", "context_embedder", "final_layer.adaLN_modulation.1");
        Path mmditPart = LoraFixtures.writeMmdit(dir.resolve("m.safetensors"),
                LoraFixtures.random(shapes, modules, 4, 4.0, 0.2, 5), LoraKeyStyle.KOHYA);
        ClipConfig clip = ((org.sd3j.onnx.clip.OnnxClipEncoder) plain.encoder(org.sd3j.model.EncoderRole.CLIP_L)
                .orElseThrow()).config();
        Path clipPart = LoraFixtures.writeClip(dir.resolve("c.safetensors"), LoraComponent.CLIP_L,
                LoraFixtures.random(ClipModules.linearShapes(clip), List.of("text_model.encoder.layers.0.mlp.fc1",
                        "text_model.encoder.layers.1.self_attn.q_proj"), 4, 4.0, 0.2, 6), LoraKeyStyle.KOHYA);
        lora = LoraFixtures.merge(dir.resolve("fox.safetensors"), mmditPart, clipPart);
    }

    @AfterAll
    void tearDown() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    private static Sd3Model.Options options() {
        return Sd3ModelTest.withTokenizers(CombinedCheckpoint.options());
    }

    private Sd3Model load(Path path, Sd3Model.Options options) {
        Sd3Model m = Sd3Model.load(path, OnnxOptions.cpu(), options);
        open.add(m);
        return m;
    }

    private static GenerationResult generate(Sd3Model model, GenerationRequest.Builder request) {
        return model.pipelineBuilder().build().generate(request.build());
    }

    private static GenerationRequest.Builder request() {
        return GenerationRequest.builder("a red fox").seed(3).size(64, 64).steps(4).guidance(4.5);
    }

    private static double relative(GenerationResult a, GenerationResult b) {
        double max = 0;
        for (int i = 0; i < b.latents().size(); i++) {
            max = Math.max(max, Math.abs(b.latents().get(i)));
        }
        return a.latents().maxAbsDiff(b.latents()) / max;
    }

    private static double pixelDiff(GenerationResult a, GenerationResult b) {
        return a.images().get(0).toTensor().maxAbsDiff(b.images().get(0).toTensor()) * 255;
    }

    @Test
    void mergedAndSwitchableGiveTheSameImage() {
        GenerationResult merged = generate(load(checkpoint, options().withLora(lora, 0.75)), request());
        GenerationResult switchable = generate(plain, request().lora(lora, 0.75));
        GenerationResult base = generate(plain, request());

        assertThat(relative(switchable, merged)).isLessThan(1e-4);
        assertThat(pixelDiff(switchable, merged)).isLessThanOrEqualTo(2.0 + 1e-6);
        assertThat(relative(base, merged)).isGreaterThan(1e-2);
        assertThat(merged.parameters(0)).startsWith("a red fox <lora:fox:0.75>\n");
        assertThat(switchable.parameters(0)).startsWith("a red fox <lora:fox:0.75>\n");
    }

    @Test
    void weightZeroGivesThePlainImageBitForBit() {
        GenerationResult base = generate(plain, request());

        GenerationResult merged = generate(load(checkpoint, options().withLora(lora, 0)), request());
        GenerationResult switchable = generate(plain, request().lora(lora, 0));

        assertThat(merged.latents().toArray()).containsExactly(base.latents().toArray());
        assertThat(switchable.latents().toArray()).containsExactly(base.latents().toArray());
        assertThat(merged.images().get(0).toRgbBytes()).containsExactly(base.images().get(0).toRgbBytes());
    }

    @Test
    void theConvertedFolderMergesByInitializerNamesExactlyAsTheCheckpoint() {
        Sd3Model onnx = load(folder, options().withLora(lora, 0.75));
        Sd3Model ckpt = load(checkpoint, options().withLora(lora, 0.75));

        assertThat(generate(onnx, request()).latents().toArray())
                .containsExactly(generate(ckpt, request()).latents().toArray());
        assertThat(onnx.mergedLoras()).extracting(MergedLora::component, MergedLora::applied, MergedLora::unmapped)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(LoraComponent.MMDIT, 5, List.of()),
                        org.assertj.core.groups.Tuple.tuple(LoraComponent.CLIP_L, 2, List.of()));
    }

    @Test
    void anExportCannotSwitchLorasPerGeneration() {
        Sd3Model onnx = load(folder, options());

        assertThatThrownBy(() -> generate(onnx, request().lora(lora, 1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("denoiser must be a LoraCapable denoiser to apply LoRAs [" + lora + "], found"
                        + " org.sd3j.onnx.mmdit.OnnxDenoiser");
    }

    @Test
    void aLoraForAnEncoderTheModelLacksIsRefused() {
        Path noClipG = CombinedCheckpoint.write(dir.resolve("nog"), EnumSet.of(Part.CLIP_L, Part.T5, Part.VAE),
                n -> false, "no_clip_g.safetensors");
        Path g = LoraFixtures.writeClip(dir.resolve("g.safetensors"), LoraComponent.CLIP_G, List.of(
                new LoraFixtures.Adapter("text_model.encoder.layers.0.mlp.fc1", org.sd3j.tensor.Tensor.zeros(2, 96),
                        org.sd3j.tensor.Tensor.zeros(384, 2), 2)), LoraKeyStyle.KOHYA);

        assertThatThrownBy(() -> load(noClipG, options().withLora(g, 1)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(g + ": has adapters for the clip_g text encoder, which the model " + noClipG
                        + " does not have; expected a LoRA for its MMDiT and [clip_l, t5xxl]");
    }
}
