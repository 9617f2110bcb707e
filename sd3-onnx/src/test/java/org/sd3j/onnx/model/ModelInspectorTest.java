package org.sd3j.onnx.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;
import org.sd3j.onnx.convert.CheckpointConverter;
import org.sd3j.onnx.mmdit.RandomCheckpoint;
import org.sd3j.onnx.model.CombinedCheckpoint.Part;
import org.sd3j.onnx.safetensors.DType;

class ModelInspectorTest {
    @TempDir
    Path dir;

    @Test
    void describesEveryComponentOfACheckpointFromItsHeader() throws Exception {
        Path ckpt = CombinedCheckpoint.write(dir, EnumSet.allOf(Part.class), n -> false);

        ModelDescription d = ModelInspector.inspect(ckpt);

        assertThat(d.format()).isEqualTo(Sd3Model.Format.CHECKPOINT);
        assertThat(d.components()).extracting(ModelDescription.Component::name)
                .containsExactlyElementsOf(ModelInspector.COMPONENTS);
        assertThat(d.absent()).isEmpty();
        assertThat(d.tokenizers()).isEmpty();
        assertThat(d.shift()).isEqualTo(3.0);
        assertThat(d.shiftSource()).contains("default");

        ModelDescription.Component t = d.component("transformer").orElseThrow();
        assertThat(t.kind()).isEqualTo("MMDiT");
        assertThat(t.variant()).isEqualTo("SD3 depth 1");
        assertThat(t.details()).containsEntry("depth", "1").containsEntry("hidden size", "64")
                .containsEntry("heads", "1").containsEntry("QK-norm", "no").containsEntry("MMDiT-X layers", "none")
                .containsEntry("position grid", "8x8").containsEntry("context width", "192");
        assertThat(t.parameters()).containsOnlyKeys("float32");
        assertThat(t.parameterCount()).isPositive();
        assertThat(t.weightBytes()).isEqualTo(4 * t.parameterCount());
        assertThat(t.inputs()).isEmpty();
        assertThat(t.files()).containsOnlyKeys("sd3_combined.safetensors");
        assertThat(t.problems()).isEmpty();

        assertThat(d.component("text_encoder").orElseThrow().variant()).isEqualTo("CLIP width 64, 3 layers");
        assertThat(d.component("text_encoder_2").orElseThrow().details()).containsEntry("text projection", "yes");
        assertThat(d.component("text_encoder_3").orElseThrow().kind()).isEqualTo("T5");
        assertThat(d.component("text_encoder_3").orElseThrow().details()).containsEntry("d_model", "192");
        assertThat(d.component("vae_decoder").orElseThrow().details()).containsEntry("latent channels", "16");
        long vae = d.component("vae_encoder").orElseThrow().parameterCount()
                + d.component("vae_decoder").orElseThrow().parameterCount();
        long all = d.components().stream().mapToLong(ModelDescription.Component::parameterCount).sum();
        assertThat(all - vae).isGreaterThan(t.parameterCount());
    }

    @Test
    void listsAbsentComponents() throws Exception {
        Path ckpt = RandomCheckpoint.write(dir.resolve("mmdit.safetensors"), 1, 32, 32, 4, true, Set.of(0),
                DType.F16, 1L);

        ModelDescription d = ModelInspector.inspect(ckpt);

        assertThat(d.components()).extracting(ModelDescription.Component::name).containsExactly("transformer");
        assertThat(d.absent()).containsExactly("text_encoder", "text_encoder_2", "text_encoder_3", "vae_encoder",
                "vae_decoder");
        ModelDescription.Component t = d.components().get(0);
        assertThat(t.variant()).isEqualTo("MMDiT-X depth 1");
        assertThat(t.details()).containsEntry("QK-norm", "yes").containsEntry("MMDiT-X layers", "0");
        assertThat(t.parameters()).containsOnlyKeys("float16");
    }

    @Test
    void describesAnOnnxFolderWithItsGraphInputsAndOutputs() throws Exception {
        Path ckpt = CombinedCheckpoint.write(dir, EnumSet.of(Part.CLIP_L, Part.VAE), n -> false);
        Path out = dir.resolve("onnx");
        CheckpointConverter.convert(ckpt, out, CombinedCheckpoint.CLIP_HEADS);
        Files.createDirectories(out.resolve("tokenizer"));

        ModelDescription d = ModelInspector.inspect(out);

        assertThat(d.format()).isEqualTo(Sd3Model.Format.ONNX);
        assertThat(d.components()).extracting(ModelDescription.Component::name)
                .containsExactly("transformer", "text_encoder", "vae_encoder", "vae_decoder");
        assertThat(d.absent()).containsExactly("text_encoder_2", "text_encoder_3");
        assertThat(d.tokenizers()).containsExactly("tokenizer");
        assertThat(d.shiftSource()).isEqualTo("scheduler/scheduler_config.json");

        ModelDescription.Component t = d.component("transformer").orElseThrow();
        assertThat(t.variant()).isEqualTo("SD3 depth 1");
        assertThat(t.details()).containsEntry("hidden size", "64").containsEntry("position grid", "8x8")
                .containsEntry("context width", "192").containsEntry("pooled width", "160")
                .containsEntry("producer", "sd3j");
        assertThat(t.files()).containsOnlyKeys("transformer/model.onnx", "transformer/model.onnx_data");
        assertThat(t.inputs()).extracting(ModelDescription.GraphValue::name)
                .containsExactly("hidden_states", "timestep", "encoder_hidden_states", "pooled_projections");
        ModelDescription.GraphValue latents = t.inputs().get(0);
        assertThat(latents.elementType()).isEqualTo("float32");
        assertThat(latents.shape()).hasSize(4).element(1).isEqualTo("16");
        assertThat(t.outputs()).extracting(ModelDescription.GraphValue::name).containsExactly("out_hidden_states");
        assertThat(t.outputs().get(0).shapeText()).isEqualTo("[batch, 16, height, width]");
        // The same weights as the checkpoint's transformer (plus the graph's small constants).
        long checkpointParams = ModelInspector.inspect(ckpt).component("transformer").orElseThrow().parameterCount();
        assertThat(t.parameters()).containsOnlyKeys("float32"); // the graph's int64 shape constants are no weights
        assertThat(t.parameters().get("float32")).isGreaterThanOrEqualTo(checkpointParams);

        ModelDescription.Component clip = d.component("text_encoder").orElseThrow();
        assertThat(clip.variant()).isEqualTo("CLIP width 64, 3 layers");
        assertThat(clip.inputs()).extracting(ModelDescription.GraphValue::elementType).containsExactly("int64");
        assertThat(clip.details()).containsEntry("vocabulary", "1000").containsEntry("pooled width", "64");
        assertThat(d.component("vae_encoder").orElseThrow().variant()).isEqualTo("16 latent channels");
        assertThat(d.component("vae_decoder").orElseThrow().inputs()).extracting(ModelDescription.GraphValue::name)
                .containsExactly("latent_sample");
    }

    @Test
    void describesADiffusersFolder() throws Exception {
        Path root = dir.resolve("diffusers");
        Files.createDirectories(root.resolve("transformer"));
        CombinedCheckpoint.mmdit(root.resolve("transformer").resolve("diffusion_pytorch_model.safetensors"));
        Files.createDirectories(root.resolve("vae"));
        Files.copy(CombinedCheckpoint.golden("vae/weights.safetensors"),
                root.resolve("vae").resolve("diffusion_pytorch_model.safetensors"));
        Files.createDirectories(root.resolve("scheduler"));
        Files.writeString(root.resolve("scheduler").resolve("scheduler_config.json"), "{\"shift\": 1.5}");

        ModelDescription d = ModelInspector.inspect(root);

        assertThat(d.format()).isEqualTo(Sd3Model.Format.DIFFUSERS);
        assertThat(d.components()).extracting(ModelDescription.Component::name)
                .containsExactly("transformer", "vae_encoder", "vae_decoder");
        assertThat(d.shift()).isEqualTo(1.5);
        assertThat(d.component("transformer").orElseThrow().files())
                .containsOnlyKeys("transformer/diffusion_pytorch_model.safetensors");
    }

    @Test
    void aMissingPathIsAModelLoadException() {
        Path missing = dir.resolve("nothing");

        assertThatThrownBy(() -> ModelInspector.inspect(missing))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(missing + ": no such file or folder");
    }

    @Test
    void layerIndicesPrintAsRanges() {
        assertThat(ComponentVariants.layers(Set.of())).isEqualTo("none");
        assertThat(ComponentVariants.layers(Set.of(0, 1, 2, 3, 7, 9, 10))).isEqualTo("0-3, 7, 9-10");
        assertThat(List.of(ComponentVariants.layers(Set.of(5)))).containsExactly("5");
    }
}
