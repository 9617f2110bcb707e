package org.sd3j.examples.defaultmodel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.GenerationResult;
import org.sd3j.onnx.model.Sd3Model;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.onnx.vae.VaeFileConfig;

/** The whole recipe at toy scale: every stage runs, resumes, continues, and its output builds a working model. */
class DefaultModelRecipeTest {
    @TempDir
    Path dir;

    private static final DefaultModelRecipe.Plan TOY = new DefaultModelRecipe.Plan(24, 2, 2, 1e-3, 2, 3e-4, 2, 2,
            3e-4, 1, 0.9, 5L);

    @Test
    void trainsEveryStageResumesAndItsOutputBuildsAModelThatGenerates() throws Exception {
        Path work = dir.resolve("work");
        List<String> stages = new ArrayList<>();
        DefaultModelRecipe.Listener listener = new DefaultModelRecipe.Listener() {
            @Override
            public void stage(String what) {
                stages.add(what);
            }
        };
        Path vae = DefaultModelRecipe.run(work, TOY, OnnxOptions.cpu(), null,
                new DefaultModelRecipe.Start(null, null, DefaultModelRecipe.Stage.AUTOENCODER), listener);
        assertThat(vae).isEqualTo(work.resolve("decoder/vae.safetensors"));
        assertThat(stages).anyMatch(s -> s.startsWith("Fine-tuning the autoencoder's decoder"));
        try (TensorSource s = Safetensors.open(vae); TensorSource first = Safetensors.open(work.resolve(
                "vae/vae.safetensors"))) {
            assertThat(s.metadata()).containsEntry(VaeFileConfig.NORM_GROUPS, "8")
                    .containsEntry(VaeFileConfig.SCALING_FACTOR, first.metadata().get(VaeFileConfig.SCALING_FACTOR));
            assertThat(s.names()).containsExactlyInAnyOrderElementsOf(first.names());
            int changed = 0;
            for (String name : first.names()) {
                double diff = s.toFloatTensor(name).maxAbsDiff(first.toFloatTensor(name));
                if (name.contains(".encoder.")) {
                    assertThat(diff).as("encoder kept: " + name).isZero();
                } else if (diff > 0) {
                    changed++;
                }
            }
            assertThat(changed).as("decoder tensors fine-tuned").isPositive();
        }
        assertThat(work.resolve("data/metadata.jsonl")).isNotEmptyFile();

        Path out = dir.resolve("weights.safetensors");
        stages.clear();
        assertThat(DefaultModelRecipe.run(work, TOY, OnnxOptions.cpu(), out, DefaultModelRecipe.Start.fromScratch(),
                listener)).isEqualTo(out);
        assertThat(stages).noneMatch(s -> s.startsWith("Generating") || s.startsWith("Training the autoencoder"));
        try (TensorSource s = Safetensors.open(out)) {
            assertThat(s.metadata()).containsEntry("training.steps", "2").containsKey("training.loss_curve")
                    .containsEntry(DefaultModelRecipe.GUIDANCE_KEY, Double.toString(DefaultModelRecipe.GUIDANCE))
                    .containsEntry("vae." + VaeFileConfig.NORM_GROUPS, "8");
            String qkv = DefaultModelWriter.MMDIT_PREFIX + "joint_blocks.0.x_block.attn.qkv.weight";
            assertThat(s.info(qkv).dtype()).isEqualTo(DType.F16);
            assertThat(s.names()).anyMatch(n -> n.startsWith(DefaultModelWriter.VAE_PREFIX));
            try (TensorSource tuned = Safetensors.open(vae);
                 TensorSource first = Safetensors.open(work.resolve("vae/vae.safetensors"))) {
                String conv = DefaultModelWriter.VAE_PREFIX + "decoder.conv_out.weight";
                assertThat(s.toFloatTensor(conv).maxAbsDiff(tuned.toFloatTensor(conv)))
                        .as("the fine-tuned decoder is shipped (float16)")
                        .isLessThan(s.toFloatTensor(conv).maxAbsDiff(first.toFloatTensor(conv)));
            }
        }

        Path folder = DefaultModelWriter.write(dir.resolve("model"), DefaultModelWriter.Weights.trained(out));
        JsonNode index = Json.MAPPER.readTree(folder.resolve("model_index.json").toFile());
        assertThat(index.get("_sd3j").get("training").get("steps").asText()).isEqualTo("2");
        try (Sd3Model model = Sd3Model.load(folder, OnnxOptions.cpu())) {
            assertThat(model.shift()).isEqualTo(DefaultModelRecipe.SHIFT);
            assertThat(model.recommendedGuidance()).hasValue(DefaultModelRecipe.GUIDANCE);
            GenerationResult r = model.pipelineBuilder().steps(2).seed(1).build().generate("a red circle");
            assertThat(r.image().width()).isEqualTo(64);
        }

        // Continuing: the earlier VAE is kept, the MMDiT trains further, the provenance adds up.
        Path more = dir.resolve("more.safetensors");
        DefaultModelRecipe.run(dir.resolve("work2"), TOY, OnnxOptions.cpu(), more,
                new DefaultModelRecipe.Start(out, null, DefaultModelRecipe.Stage.MMDIT), listener);
        try (TensorSource s = Safetensors.open(more)) {
            assertThat(s.metadata()).containsEntry("training.steps", "4")
                    .containsEntry("training.continued_from_steps", "2");
        }
        assertThat(Files.exists(dir.resolve("work2/vae/checkpoint.safetensors"))).as("no autoencoder training")
                .isFalse();
    }

    @Test
    void startNeedsAStageAndKeepsAContinuedModelsAutoencoder() {
        assertThatThrownBy(() -> new DefaultModelRecipe.Start(null, null, null))
                .hasMessage("until must be a stage, found null");
        assertThatThrownBy(() -> new DefaultModelRecipe.Start(Path.of("a"), Path.of("b"),
                DefaultModelRecipe.Stage.MMDIT))
                .hasMessage("vaeFrom must be null when continuing from a (its autoencoder is kept), found b");
    }

    @Test
    void theMmditRateHoldsItsPeakThenDecaysOverTheLastFifth() {
        org.sd3j.train.optim.LearningRateSchedule s = DefaultModelRecipe.mmditSchedule(
                DefaultModelRecipe.Plan.defaults().withSteps(20_000));
        assertThat(s.at(250)).isEqualTo(1.5e-4);
        assertThat(s.at(16_000)).isEqualTo(3e-4);
        assertThat(s.at(18_000)).isCloseTo(1.5e-4, org.assertj.core.api.Assertions.within(1e-12));
        assertThat(s.at(20_000)).isZero();
        // Too short to hold the peak past the warm-up: constant.
        assertThat(DefaultModelRecipe.mmditSchedule(TOY).isCosine()).isFalse();
    }
}
