package org.sd3j.train.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.TensorAssertions;

class LoraFilesTest {
    private static final Map<String, String> PROVENANCE = Map.of("sd3j.base_model", "sd3-medium",
            "sd3j.steps", "1000");

    @TempDir
    Path dir;

    /** Adapters on every Linear (2-chunk adaLN layers and MMDiT-X attn2 included), B random. */
    private static LoraWeights everything(long seed) {
        List<String> keys = LoraTargets.allLinear().select(TestModels.shapes());
        return TestModels.withRandomB(LoraWeights.initialize(keys, TestModels.shapes(),
                new LoraSpec(4, 2, LoraInit.GAUSSIAN, seed)), seed);
    }

    private static void assertSameAdapters(LoraWeights actual, LoraWeights expected) {
        assertThat(actual.keys()).containsExactlyInAnyOrderElementsOf(expected.keys());
        for (String k : expected.keys()) {
            LoraAdapter e = expected.adapter(k);
            LoraAdapter a = actual.adapter(k);
            TensorAssertions.assertBitEqual(a.a(), e.a(), k + " A");
            TensorAssertions.assertBitEqual(a.b(), e.b(), k + " B");
            assertThat(a.alpha()).as(k + " alpha").isEqualTo(e.alpha());
        }
    }

    private static Map<String, long[]> names(Path file) {
        Map<String, long[]> out = new HashMap<>();
        try (TensorSource s = Safetensors.open(file)) {
            s.names().forEach(n -> out.put(n, s.info(n).shape()));
        }
        return out;
    }

    @Nested
    class Diffusers {
        @Test
        void roundTripsEveryAdapterExactly() {
            LoraWeights w = everything(1);
            Path f = dir.resolve("pytorch_lora_weights.safetensors");
            LoraFiles.write(f, w, LoraLayout.DIFFUSERS, PROVENANCE);
            LoraFile read = LoraFiles.read(f, TestModels.shapes());
            assertThat(read.layout()).isEqualTo(LoraLayout.DIFFUSERS);
            assertSameAdapters(read.weights(), w);
            assertThat(read.weights().keys()).as("model order").containsExactlyElementsOf(w.keys());
            assertThat(read.metadata()).containsEntry("format", "pt").containsAllEntriesOf(PROVENANCE)
                    .containsKey("lora_adapter_metadata");
        }

        @Test
        void usesDiffusersKeysAndShapes() {
            Path f = dir.resolve("l.safetensors");
            LoraFiles.write(f, everything(2), LoraLayout.DIFFUSERS, Map.of());
            Map<String, long[]> n = names(f);
            assertThat(n.get("transformer.transformer_blocks.0.attn.to_q.lora_A.weight")).containsExactly(4, 128);
            assertThat(n.get("transformer.transformer_blocks.0.attn.to_q.lora_B.weight")).containsExactly(128, 4);
            assertThat(n.get("transformer.transformer_blocks.0.attn.to_k.lora_B.weight")).containsExactly(128, 4);
            assertThat(n.get("transformer.transformer_blocks.0.attn.to_v.lora_B.weight")).containsExactly(128, 4);
            assertThat(n.get("transformer.transformer_blocks.0.attn.add_q_proj.lora_A.weight")).containsExactly(4, 128);
            assertThat(n.get("transformer.transformer_blocks.1.attn.add_v_proj.lora_B.weight")).containsExactly(128, 4);
            assertThat(n.get("transformer.transformer_blocks.0.attn.to_out.0.lora_B.weight")).containsExactly(128, 4);
            assertThat(n.get("transformer.transformer_blocks.0.attn.to_add_out.lora_A.weight")).containsExactly(4, 128);
            assertThat(n.get("transformer.transformer_blocks.0.attn2.to_k.lora_A.weight")).containsExactly(4, 128);
            assertThat(n.get("transformer.transformer_blocks.0.ff.net.0.proj.lora_B.weight")).containsExactly(512, 4);
            assertThat(n.get("transformer.transformer_blocks.0.ff_context.net.2.lora_A.weight"))
                    .containsExactly(4, 512);
            assertThat(n.get("transformer.transformer_blocks.0.norm1.linear.lora_B.weight")).containsExactly(1152, 4);
            assertThat(n.get("transformer.transformer_blocks.1.norm1_context.linear.lora_B.weight"))
                    .containsExactly(256, 4);
            assertThat(n.get("transformer.time_text_embed.timestep_embedder.linear_1.lora_A.weight"))
                    .containsExactly(4, 256);
            assertThat(n.get("transformer.context_embedder.lora_A.weight")).containsExactly(4, 96);
            assertThat(n.get("transformer.norm_out.linear.lora_B.weight")).containsExactly(256, 4);
            assertThat(n.get("transformer.proj_out.lora_B.weight")).containsExactly(64, 4);
            assertThat(n.keySet()).allMatch(k -> k.startsWith("transformer.")
                    && (k.endsWith(".lora_A.weight") || k.endsWith(".lora_B.weight")));
        }

        @Test
        void storesAlphaAsPeftConfigInMetadata() throws IOException {
            Map<String, LoraAdapter> adapters = new LinkedHashMap<>();
            adapters.put("joint_blocks.0.x_block.attn.proj", everything(3).adapter("joint_blocks.0.x_block.attn.proj"));
            adapters.put("joint_blocks.0.x_block.mlp.fc1", new LoraAdapter(Tensor.zeros(8, 128), Tensor.zeros(512, 8),
                    1));
            LoraWeights w = LoraWeights.of(adapters);
            Path f = dir.resolve("l.safetensors");
            LoraFiles.write(f, w, LoraLayout.DIFFUSERS, Map.of());
            String json;
            try (TensorSource s = Safetensors.open(f)) {
                json = s.metadata().get("lora_adapter_metadata");
            }
            // As diffusers' save_lora_weights: PEFT LoraConfig fields prefixed with the component, "transformer.".
            JsonNode config = new ObjectMapper().readTree(json);
            assertThat(config.get("transformer.r").asInt()).isEqualTo(4);
            assertThat(config.get("transformer.lora_alpha").isIntegralNumber()).isTrue();
            assertThat(config.get("transformer.lora_alpha").asInt()).isEqualTo(2);
            assertThat(config.get("transformer.rank_pattern").get("transformer_blocks.0.ff.net.0.proj").asInt())
                    .isEqualTo(8);
            assertThat(config.get("transformer.alpha_pattern").get("transformer_blocks.0.ff.net.0.proj").asInt())
                    .isEqualTo(1);
            assertThat(config.get("transformer.rank_pattern").has("transformer_blocks.0.attn.to_out.0")).isFalse();
            assertThat(config.get("transformer.target_modules")).extracting(JsonNode::asText)
                    .containsExactly("transformer_blocks.0.attn.to_out.0", "transformer_blocks.0.ff.net.0.proj");
            assertSameAdapters(LoraFiles.read(f).weights(), w);
        }

        @Test
        void swapsTheScaleShiftHalvesOfTwoChunkAdaLn() {
            LoraWeights w = everything(4);
            Path f = dir.resolve("l.safetensors");
            LoraFiles.write(f, w, LoraLayout.DIFFUSERS, Map.of());
            try (TensorSource s = Safetensors.open(f)) {
                Tensor stored = s.toFloatTensor("transformer.norm_out.linear.lora_B.weight");
                Tensor canonical = w.adapter("final_layer.adaLN_modulation.1").b();
                TensorAssertions.assertBitEqual(stored.slice(0, 128).copy(), canonical.slice(128, 256).copy(), "scale");
                TensorAssertions.assertBitEqual(stored.slice(128, 256).copy(), canonical.slice(0, 128).copy(), "shift");
                Tensor ctx = s.toFloatTensor("transformer.transformer_blocks.1.norm1_context.linear.lora_B.weight");
                TensorAssertions.assertBitEqual(ctx.slice(0, 128).copy(),
                        w.adapter("joint_blocks.1.context_block.adaLN_modulation.1").b().slice(128, 256).copy(), "ctx");
                Tensor six = s.toFloatTensor("transformer.transformer_blocks.0.norm1_context.linear.lora_B.weight");
                TensorAssertions.assertBitEqual(six, w.adapter("joint_blocks.0.context_block.adaLN_modulation.1").b(),
                        "6-chunk adaLN is not swapped");
            }
        }

        @Test
        void separateQkvAdaptersAsDiffusersTrainsThemAreOneExactFusedAdapter() {
            // What diffusers writes after training to_q, to_k, to_v as separate PEFT layers: own A per projection.
            SplittableRandom r = new SplittableRandom(5);
            Tensor[] a = new Tensor[3];
            Tensor[] b = new Tensor[3];
            SafetensorsWriter writer = SafetensorsWriter.create().metadata("format", "pt")
                    .metadata("lora_adapter_metadata", "{\"transformer.lora_alpha\": 8, \"transformer.r\": 4}");
            String[] names = {"to_q", "to_k", "to_v"};
            for (int p = 0; p < 3; p++) {
                a[p] = TestModels.random(r, 4, 128);
                b[p] = TestModels.random(r, 128, 4);
                writer.add("transformer.transformer_blocks.0.attn." + names[p] + ".lora_A.weight", a[p]);
                writer.add("transformer.transformer_blocks.0.attn." + names[p] + ".lora_B.weight", b[p]);
            }
            Path f = dir.resolve("diffusers.safetensors");
            writer.write(f);

            LoraAdapter fused = LoraFiles.read(f, TestModels.shapes()).weights()
                    .adapter("joint_blocks.0.x_block.attn.qkv");
            assertThat(fused.rank()).isEqualTo(12);
            assertThat(fused.scale()).isEqualTo(2.0);

            // Apply both forms to a random input: W x + 2 * B_p (A_p x) per projection against the fused layer's
            // rows of (W + (alpha/r) B A) x.
            Tensor w = TestModels.random(r, 384, 128);
            Tensor x = TestModels.random(r, 128);
            double[] fusedOut = apply(w, fused.delta(), x, 0, 384);
            for (int p = 0; p < 3; p++) {
                double[] partOut = apply(w, new LoraAdapter(a[p], b[p], 8).delta(), x, p * 128, 128);
                for (int i = 0; i < 128; i++) {
                    assertThat(fusedOut[p * 128 + i]).as("row " + (p * 128 + i)).isEqualTo(partOut[i]);
                }
            }
            // And back out: the three adapters come out as they went in.
            Path back = dir.resolve("back.safetensors");
            LoraFiles.write(back, LoraWeights.of(Map.of("joint_blocks.0.x_block.attn.qkv", fused)),
                    LoraLayout.DIFFUSERS, Map.of());
            try (TensorSource s = Safetensors.open(back)) {
                for (int p = 0; p < 3; p++) {
                    String m = "transformer.transformer_blocks.0.attn." + names[p];
                    TensorAssertions.assertBitEqual(s.toFloatTensor(m + ".lora_A.weight"), a[p], m + " A");
                    TensorAssertions.assertBitEqual(s.toFloatTensor(m + ".lora_B.weight"), b[p], m + " B");
                }
            }
        }

        /**
         * Rows [from, from + n) of (W + delta) x in double, where delta holds either all of W's rows or just
         * those n.
         */
        private double[] apply(Tensor w, Tensor delta, Tensor x, int from, int n) {
            int in = x.size();
            int deltaRow0 = delta.dim(0) == n ? 0 : from;
            double[] y = new double[n];
            for (int o = 0; o < n; o++) {
                double s = 0;
                for (int i = 0; i < in; i++) {
                    s += ((double) w.get((from + o) * in + i) + delta.get((deltaRow0 + o) * in + i)) * x.get(i);
                }
                y[o] = s;
            }
            return y;
        }

        @Test
        void withoutMetadataTheScaleIsOneAndAlphaTensorsAreHonoured() {
            SplittableRandom r = new SplittableRandom(6);
            Path f = dir.resolve("plain.safetensors");
            SafetensorsWriter.create()
                    .add("transformer.proj_out.lora_A.weight", TestModels.random(r, 2, 128))
                    .add("transformer.proj_out.lora_B.weight", TestModels.random(r, 64, 2))
                    .add("transformer.context_embedder.lora_A.weight", TestModels.random(r, 2, 96))
                    .add("transformer.context_embedder.lora_B.weight", TestModels.random(r, 128, 2))
                    .add("transformer.context_embedder.alpha", new float[] {1})
                    .write(f);
            LoraWeights w = LoraFiles.read(f).weights();
            assertThat(w.adapter("final_layer.linear").alpha()).isEqualTo(2);
            assertThat(w.adapter("context_embedder").alpha()).isEqualTo(1);
        }

        @Test
        void alphaPatternEntriesApplyPerModule() {
            SplittableRandom r = new SplittableRandom(7);
            Path f = dir.resolve("pattern.safetensors");
            SafetensorsWriter.create()
                    .metadata("lora_adapter_metadata", "{\"transformer.lora_alpha\": 16,"
                            + " \"transformer.alpha_pattern\": {\"transformer_blocks.0.attn.to_out.0\": 2,"
                            + " \"ff.net.2\": 3}}")
                    .add("transformer.transformer_blocks.0.attn.to_out.0.lora_A.weight", TestModels.random(r, 4, 128))
                    .add("transformer.transformer_blocks.0.attn.to_out.0.lora_B.weight", TestModels.random(r, 128, 4))
                    .add("transformer.transformer_blocks.1.ff.net.2.lora_A.weight", TestModels.random(r, 4, 512))
                    .add("transformer.transformer_blocks.1.ff.net.2.lora_B.weight", TestModels.random(r, 128, 4))
                    .add("transformer.proj_out.lora_A.weight", TestModels.random(r, 4, 128))
                    .add("transformer.proj_out.lora_B.weight", TestModels.random(r, 64, 4))
                    .write(f);
            LoraWeights w = LoraFiles.read(f).weights();
            assertThat(w.adapter("joint_blocks.0.x_block.attn.proj").alpha()).isEqualTo(2);
            assertThat(w.adapter("joint_blocks.1.x_block.mlp.fc2").alpha()).isEqualTo(3);
            assertThat(w.adapter("final_layer.linear").alpha()).isEqualTo(16);
            // Model order, whatever the file's sorting.
            assertThat(w.keys()).containsExactly("joint_blocks.0.x_block.attn.proj", "joint_blocks.1.x_block.mlp.fc2",
                    "final_layer.linear");
        }

        @Test
        void readsHalfPrecisionFiles() {
            SplittableRandom r = new SplittableRandom(8);
            Tensor a = TestModels.random(r, 4, 128);
            Tensor b = TestModels.random(r, 64, 4);
            Path f = dir.resolve("half.safetensors");
            SafetensorsWriter.create().addAs("transformer.proj_out.lora_A.weight", a, DType.F16)
                    .addAs("transformer.proj_out.lora_B.weight", b, DType.BF16).write(f);
            LoraAdapter read = LoraFiles.read(f).weights().adapter("final_layer.linear");
            for (int i = 0; i < a.size(); i++) {
                assertThat(read.a().get(i)).isCloseTo(a.get(i), within(1e-3f * Math.max(1, Math.abs(a.get(i)))));
            }
            assertThat(read.b().get(0)).isCloseTo(b.get(0), within(1e-2f * Math.max(1, Math.abs(b.get(0)))));
        }
    }

    @Nested
    class Kohya {
        @Test
        void roundTripsEveryAdapterExactly() {
            LoraWeights w = everything(11);
            Path f = dir.resolve("kohya.safetensors");
            LoraFiles.write(f, w, LoraLayout.KOHYA, PROVENANCE);
            LoraFile read = LoraFiles.read(f, TestModels.shapes());
            assertThat(read.layout()).isEqualTo(LoraLayout.KOHYA);
            assertSameAdapters(read.weights(), w);
            assertThat(read.weights().keys()).as("model order").containsExactlyElementsOf(w.keys());
            assertThat(read.metadata()).containsEntry("format", "pt").containsEntry("ss_network_dim", "4")
                    .containsEntry("ss_network_alpha", "2").containsAllEntriesOf(PROVENANCE);
        }

        @Test
        void usesKohyaKeysWithFusedQkvAndScalarAlpha() {
            Path f = dir.resolve("kohya.safetensors");
            LoraFiles.write(f, everything(12), LoraLayout.KOHYA, Map.of());
            try (TensorSource s = Safetensors.open(f)) {
                assertThat(s.info("lora_unet_joint_blocks_0_x_block_attn_qkv.lora_down.weight").shape())
                        .containsExactly(4, 128);
                assertThat(s.info("lora_unet_joint_blocks_0_x_block_attn_qkv.lora_up.weight").shape())
                        .containsExactly(384, 4);
                assertThat(s.info("lora_unet_joint_blocks_0_x_block_attn_qkv.alpha").shape()).isEmpty();
                assertThat(s.info("lora_unet_joint_blocks_0_x_block_attn_qkv.alpha").dtype()).isEqualTo(DType.F32);
                assertThat(s.toFloatTensor("lora_unet_joint_blocks_0_x_block_attn_qkv.alpha").get(0)).isEqualTo(2f);
                assertThat(s.names()).contains(
                        "lora_unet_joint_blocks_1_context_block_adaLN_modulation_1.lora_up.weight",
                        "lora_unet_joint_blocks_0_context_block_mlp_fc2.lora_down.weight",
                        "lora_unet_final_layer_adaLN_modulation_1.alpha",
                        "lora_unet_t_embedder_mlp_0.lora_down.weight");
                assertThat(s.names()).hasSize(26 * 3);
            }
        }

        @Test
        void convertsToDiffusersAndBackWithoutChange() {
            LoraWeights w = everything(13);
            Path k = dir.resolve("k.safetensors");
            Path d = dir.resolve("d.safetensors");
            Path k2 = dir.resolve("k2.safetensors");
            LoraFiles.write(k, w, LoraLayout.KOHYA, Map.of());
            LoraFiles.write(d, LoraFiles.read(k).weights(), LoraLayout.DIFFUSERS, Map.of());
            LoraFiles.write(k2, LoraFiles.read(d).weights(), LoraLayout.KOHYA, Map.of());
            assertSameAdapters(LoraFiles.read(k2).weights(), w);
        }

        @Test
        void zeroOrMissingAlphaMeansRank() {
            SplittableRandom r = new SplittableRandom(14);
            Path f = dir.resolve("k.safetensors");
            SafetensorsWriter.create()
                    .add("lora_unet_final_layer_linear.lora_down.weight", TestModels.random(r, 8, 128))
                    .add("lora_unet_final_layer_linear.lora_up.weight", TestModels.random(r, 64, 8))
                    .add("lora_unet_final_layer_linear.alpha", new float[] {0})
                    .add("lora_unet_context_embedder.lora_down.weight", TestModels.random(r, 2, 96))
                    .add("lora_unet_context_embedder.lora_up.weight", TestModels.random(r, 128, 2))
                    .write(f);
            LoraWeights w = LoraFiles.read(f).weights();
            assertThat(w.adapter("final_layer.linear").alpha()).isEqualTo(8);
            assertThat(w.adapter("context_embedder").alpha()).isEqualTo(2);
        }
    }

    @Nested
    class ComfyAndOriginalKeys {
        @Test
        void roundTripEveryAdapterExactlyUnderTheirOwnNames() {
            LoraWeights w = everything(15);
            Path comfy = dir.resolve("comfy.safetensors");
            Path original = dir.resolve("original.safetensors");
            LoraFiles.write(comfy, w, LoraLayout.COMFYUI, PROVENANCE);
            LoraFiles.write(original, w, LoraLayout.ORIGINAL, Map.of());

            LoraFile c = LoraFiles.read(comfy, TestModels.shapes());
            LoraFile o = LoraFiles.read(original, TestModels.shapes());

            assertThat(c.layout()).isEqualTo(LoraLayout.COMFYUI);
            assertThat(o.layout()).isEqualTo(LoraLayout.ORIGINAL);
            assertSameAdapters(c.weights(), w);
            assertSameAdapters(o.weights(), w);
            assertThat(c.metadata()).containsEntry("format", "pt").containsAllEntriesOf(PROVENANCE);
            assertThat(names(comfy)).containsKeys("diffusion_model.joint_blocks.0.x_block.attn.qkv.lora_up.weight",
                    "diffusion_model.joint_blocks.0.x_block.attn.qkv.lora_down.weight",
                    "diffusion_model.joint_blocks.0.x_block.attn.qkv.alpha").hasSize(26 * 3);
            assertThat(names(original)).containsKeys(
                    "model.diffusion_model.final_layer.adaLN_modulation.1.lora_A.weight",
                    "model.diffusion_model.final_layer.adaLN_modulation.1.lora_B.weight",
                    "model.diffusion_model.final_layer.adaLN_modulation.1.alpha").hasSize(26 * 3);
        }
    }

    @Nested
    class BadFiles {
        private Path diffusersDefault(long seed) {
            Path f = dir.resolve("lora-" + seed + ".safetensors");
            LoraWeights w = LoraWeights.initialize(LoraTargets.diffusersDefault().select(TestModels.shapes()),
                    TestModels.shapes(), LoraSpec.diffusersDefault(seed));
            LoraFiles.write(f, w, LoraLayout.DIFFUSERS, Map.of());
            return f;
        }

        @Test
        void aLoraForAnotherModelSizeNamesTheFirstOffendingTensor() {
            Path f = diffusersDefault(1);
            assertThatThrownBy(() -> LoraFiles.read(f, LinearLayers.of(TestModels.depth1())))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage(f + ": LoRA tensor 'transformer.transformer_blocks.0.attn.add_k_proj.lora_A.weight'"
                            + " has shape [4, 128], expected [4, 64] to fit model weight"
                            + " 'joint_blocks.0.context_block.attn.qkv.weight' [192, 64] (its k rows)");
        }

        @Test
        void aKohyaLoraWithWrongOutputsNamesTheUpTensor() {
            Path f = dir.resolve("k.safetensors");
            SplittableRandom r = new SplittableRandom(2);
            SafetensorsWriter.create()
                    .add("lora_unet_joint_blocks_0_x_block_mlp_fc1.lora_down.weight", TestModels.random(r, 4, 128))
                    .add("lora_unet_joint_blocks_0_x_block_mlp_fc1.lora_up.weight", TestModels.random(r, 256, 4))
                    .write(f);
            assertThatThrownBy(() -> LoraFiles.read(f, TestModels.shapes()))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage(f + ": LoRA tensor 'lora_unet_joint_blocks_0_x_block_mlp_fc1.lora_up.weight' has"
                            + " shape [256, 4], expected [512, 4] to fit model weight"
                            + " 'joint_blocks.0.x_block.mlp.fc1.weight' [512, 128]");
        }

        @Test
        void aLoraOnAWeightTheModelLacksNamesIt() {
            Path f = diffusersDefault(2);
            Map<String, long[]> model = new HashMap<>(TestModels.shapes());
            model.remove("joint_blocks.0.context_block.attn.proj.weight");
            assertThatThrownBy(() -> LoraFiles.read(f, model))
                    .hasMessage(f + ": LoRA tensor 'transformer.transformer_blocks.0.attn.to_add_out.lora_A.weight'"
                            + " adapts model weight 'joint_blocks.0.context_block.attn.proj.weight', which the model"
                            + " does not have");
        }

        @Test
        void inconsistentRanksAreReportedWithoutAModel() {
            Path f = dir.resolve("k.safetensors");
            SafetensorsWriter.create()
                    .add("lora_unet_context_embedder.lora_down.weight", Tensor.zeros(4, 96))
                    .add("lora_unet_context_embedder.lora_up.weight", Tensor.zeros(128, 8))
                    .write(f);
            assertThatThrownBy(() -> LoraFiles.read(f))
                    .hasMessage(f + ": LoRA tensor 'lora_unet_context_embedder.lora_up.weight' has shape [128, 8],"
                            + " expected [out, 4] to match 'lora_unet_context_embedder.lora_down.weight' [4, 96]");
        }

        @Test
        void anOddAdaLnOutputIsAnInvalidFileNotAnArgumentError() {
            Path f = dir.resolve("odd.safetensors");
            SafetensorsWriter.create()
                    .add("transformer.norm_out.linear.lora_A.weight", Tensor.zeros(2, 128))
                    .add("transformer.norm_out.linear.lora_B.weight", Tensor.zeros(255, 2))
                    .write(f);
            assertThatThrownBy(() -> LoraFiles.read(f))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage(f + ": invalid LoRA: b must have an even number of rows to swap halves, found"
                            + " Tensor[255, 2]");
        }

        @Test
        void unknownKeysListWhatWasRecognised() {
            Path f = dir.resolve("te.safetensors");
            SafetensorsWriter.create()
                    .add("lora_te3_encoder_block_0_layer_0_SelfAttention_q.lora_down.weight", Tensor.zeros(4, 8))
                    .add("lora_unet_context_embedder.lora_down.weight", Tensor.zeros(4, 96))
                    .add("lora_unet_context_embedder.lora_up.weight", Tensor.zeros(128, 4))
                    .write(f);
            assertThatThrownBy(() -> LoraFiles.read(f))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage(f + ": unrecognised LoRA key layout: 1 of 3 tensors fit no known layout, e.g."
                            + " 'lora_te3_encoder_block_0_layer_0_SelfAttention_q.lora_down.weight'; recognised: 0"
                            + " diffusers/PEFT tensors 'transformer.<diffusers module>.lora_A.weight' /"
                            + " '.lora_B.weight',"
                            + " 2 kohya tensors 'lora_unet_<original module>.lora_down.weight' / '.lora_up.weight' /"
                            + " '.alpha' such as 'lora_unet_context_embedder.lora_down.weight',"
                            + " 'lora_unet_context_embedder.lora_up.weight',"
                            + " 0 ComfyUI tensors 'diffusion_model.<original module>.lora_up.weight' /"
                            + " '.lora_down.weight' / '.alpha',"
                            + " 0 original-key tensors '[model.diffusion_model.]<original module>.lora_A.weight' /"
                            + " '.lora_B.weight', over the Linear modules of the MMDiT and the CLIP text encoders");
        }

        @Test
        void textEncoderAdaptersAreNotTrainingAdapters() {
            Path f = dir.resolve("te.safetensors");
            SafetensorsWriter.create()
                    .add("lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", Tensor.zeros(4, 64))
                    .add("lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight", Tensor.zeros(256, 4))
                    .add("lora_unet_context_embedder.lora_down.weight", Tensor.zeros(4, 96))
                    .add("lora_unet_context_embedder.lora_up.weight", Tensor.zeros(128, 4))
                    .write(f);
            assertThatThrownBy(() -> LoraFiles.read(f))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage(f + ": holds 1 text-encoder adapters such as"
                            + " 'lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight', which LoraWeights"
                            + " cannot hold: it reads MMDiT adapters only (inference applies both:"
                            + " Sd3Model.Options.withLora, Sd3Pipeline.Builder.lora)");
        }

        @Test
        void aCheckpointIsNotALora() {
            Path f = dir.resolve("model.safetensors");
            SafetensorsWriter.create().add("model.diffusion_model.x_embedder.proj.weight", Tensor.zeros(2, 2))
                    .write(f);
            assertThatThrownBy(() -> LoraFiles.read(f))
                    .hasMessageStartingWith(f + ": unrecognised LoRA key layout: 1 of 1 tensors fit no known layout,"
                            + " e.g. 'model.diffusion_model.x_embedder.proj.weight'; recognised: 0 diffusers/PEFT");
        }

        @Test
        void mixedLayoutsAreRejected() {
            Path f = dir.resolve("mixed.safetensors");
            SafetensorsWriter.create()
                    .add("lora_unet_context_embedder.lora_down.weight", Tensor.zeros(4, 96))
                    .add("lora_unet_context_embedder.lora_up.weight", Tensor.zeros(128, 4))
                    .add("transformer.proj_out.lora_A.weight", Tensor.zeros(4, 128))
                    .add("transformer.proj_out.lora_B.weight", Tensor.zeros(64, 4))
                    .write(f);
            assertThatThrownBy(() -> LoraFiles.read(f))
                    .hasMessageStartingWith(f + ": mixes two LoRA layouts: 2 diffusers/PEFT tensors such as"
                            + " 'transformer.proj_out.lora_A.weight'");
        }

        @Test
        void aDownMatrixWithoutItsUpMatrixIsNamed() {
            Path f = dir.resolve("half.safetensors");
            SafetensorsWriter.create().add("transformer.proj_out.lora_A.weight", Tensor.zeros(4, 128)).write(f);
            assertThatThrownBy(() -> LoraFiles.read(f))
                    .hasMessage(f + ": LoRA module 'transformer.proj_out' has 'lora_A.weight' but no 'lora_B.weight'");
        }

        @Test
        void emptyAndTruncatedFilesNameTheFile() throws IOException {
            Path empty = dir.resolve("empty.safetensors");
            SafetensorsWriter.create().write(empty);
            assertThatThrownBy(() -> LoraFiles.read(empty))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessageStartingWith(empty + ": holds no tensors; expected a LoRA");
            Path f = diffusersDefault(3);
            Path cut = dir.resolve("cut.safetensors");
            byte[] bytes = Files.readAllBytes(f);
            Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length - 100));
            assertThatThrownBy(() -> LoraFiles.read(cut))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessageStartingWith(cut + ": ");
        }

        @Test
        void provenanceMayNotOverrideTheLayoutsOwnMetadata() {
            LoraWeights w = everything(4);
            assertThatThrownBy(() -> LoraFiles.write(dir.resolve("x.safetensors"), w, LoraLayout.DIFFUSERS,
                    Map.of("lora_adapter_metadata", "{}")))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("provenance keys must not be one of the DIFFUSERS layout's own")
                    .hasMessageEndingWith(", found 'lora_adapter_metadata'");
            assertThatThrownBy(() -> LoraFiles.write(dir.resolve("x.safetensors"), w, LoraLayout.KOHYA,
                    Map.of("ss_network_dim", "4")))
                    .hasMessageEndingWith(", found 'ss_network_dim'");
        }
    }
}
