package org.sd3j.onnx.mmdit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.lora.LoraCapable;
import org.sd3j.lora.LoraRequest;
import org.sd3j.model.Denoiser;
import org.sd3j.onnx.lora.LoraComponent;
import org.sd3j.onnx.lora.LoraFixtures;
import org.sd3j.onnx.lora.LoraKeyStyle;
import org.sd3j.onnx.lora.LoraPlacement;
import org.sd3j.onnx.lora.CheckpointLocators;
import org.sd3j.onnx.lora.MergedTensorSource;
import org.sd3j.onnx.lora.MmditModules;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/**
 * LoRA on the MMDiT built from a checkpoint: merged into the weights at load and switchable per generation give the
 * same velocity (within {@link #TOLERANCE} of the output's largest magnitude: float32 rounding of
 * {@code (W + dW) x} against {@code W x + B (A x)}), weight 0 gives the plain model bit for bit, every key layout
 * gives bit-identical merged weights, and weights add linearly. The model is the golden depth-2 MMDiT with QK-norm;
 * the LoRA has rank-4 adapters on every Linear (fused qkv, both streams, embedders, the final layer's swapped adaLN).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MmditLoraTest {
    /** Merged vs switchable, relative to max |v|. */
    static final double TOLERANCE = 1e-5;

    private static final Path CHECKPOINT = MmditParityTest.resource("d2_rms/weights.safetensors");

    @TempDir
    Path dir;
    private TensorSource inputs;
    private MmditDenoiser base;
    private Tensor baseOut;
    private Map<String, long[]> shapes;
    private List<LoraFixtures.Adapter> adapters;
    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    void setUp() {
        inputs = Safetensors.open(MmditParityTest.resource("d2_rms/sq8x8.safetensors"));
        base = MmditDenoiser.load(CHECKPOINT, OnnxOptions.cpu());
        open.add(base);
        baseOut = MmditParityTest.run(base, inputs);
        shapes = MmditModules.linearShapes(base.config());
        List<String> modules = shapes.keySet().stream().map(n -> n.substring(0, n.length() - ".weight".length()))
                .toList();
        adapters = LoraFixtures.random(shapes, modules, 4, 2.0, 0.05, 7);
    }

    @AfterAll
    void tearDown() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
        inputs.close();
    }

    private Path lora(String name, LoraKeyStyle style) {
        return LoraFixtures.writeMmdit(dir.resolve(name + ".safetensors"), adapters, style);
    }

    private MmditDenoiser merged(Path checkpoint, LoraRequest... loras) {
        MmditDenoiser d = MmditDenoiser.load(checkpoint, OnnxOptions.cpu(), MmditGraph.Attention.FUSED,
                List.of(loras));
        open.add(d);
        return d;
    }

    private Tensor run(Denoiser d) {
        return MmditParityTest.run(d, inputs);
    }

    private static double relative(Tensor a, Tensor b) {
        double max = 0;
        for (int i = 0; i < b.size(); i++) {
            max = Math.max(max, Math.abs(b.get(i)));
        }
        return a.maxAbsDiff(b) / max;
    }

    @Nested
    class MergedAndSwitchable {
        @Test
        void giveTheSameVelocityAndDifferFromTheModel() {
            Path f = lora("kohya", LoraKeyStyle.KOHYA);
            Tensor merged = run(merged(CHECKPOINT, new LoraRequest(f, 0.8)));
            LoraCapable.Applied<Denoiser> view = base.withLoras(List.of(new LoraRequest(f, 0.8)));
            Tensor switchable = run(view.component());

            assertThat(relative(merged, switchable)).isLessThan(TOLERANCE);
            assertThat(relative(merged, baseOut)).isGreaterThan(1e-2);
            assertThat(view.parts()).containsExactly(Map.entry(f, Set.of("denoiser")));
        }

        @Test
        void bindingAndSkippingViewsRunTheAdapters() {
            Path f = lora("bind", LoraKeyStyle.ORIGINAL);
            MmditDenoiser m = merged(CHECKPOINT, new LoraRequest(f, 1));
            Denoiser view = base.withLoras(List.of(new LoraRequest(f, 1))).component();
            Conditioning c = new Conditioning(inputs.toFloatTensor("context"), inputs.toFloatTensor("y"));
            Tensor x = inputs.toFloatTensor("x");
            Tensor t = inputs.toFloatTensor("t");
            Tensor out = Tensor.zeros(x.shape());
            try (var bound = ((org.sd3j.model.BindingDenoiser) view).bind(c, Set.of(1))) {
                bound.velocity(x, t, out);
            }

            assertThat(relative(out, m.velocitySkipping(x, t, c, Set.of(1)))).isLessThan(TOLERANCE);
            assertThat(((org.sd3j.model.BlockSkippingDenoiser) view).blockCount()).isEqualTo(2);
        }

        @Test
        void weightZeroIsTheModelBitForBit() {
            Path f = lora("zero", LoraKeyStyle.KOHYA);

            Tensor merged = run(merged(CHECKPOINT, new LoraRequest(f, 0)));
            LoraCapable.Applied<Denoiser> view = base.withLoras(List.of(new LoraRequest(f, 0)));

            assertThat(merged.toArray()).containsExactly(baseOut.toArray());
            assertThat(view.component()).isSameAs(base);
        }

        @Test
        void everyLayoutMergesToTheSameWeights() {
            Tensor expected = run(merged(CHECKPOINT, new LoraRequest(lora("k", LoraKeyStyle.KOHYA), 1)));
            for (LoraKeyStyle style : List.of(LoraKeyStyle.DIFFUSERS, LoraKeyStyle.COMFYUI, LoraKeyStyle.ORIGINAL)) {
                Path f = lora(style.name(), style);

                assertThat(run(merged(CHECKPOINT, new LoraRequest(f, 1))).toArray()).as("%s", style)
                        .containsExactly(expected.toArray());
                assertThat(relative(run(base.withLoras(List.of(new LoraRequest(f, 1))).component()), expected))
                        .as("%s", style).isLessThan(TOLERANCE);
            }
        }

        @Test
        void aDiffusersLayoutModelTakesTheSameLora() throws Exception {
            Path folder = DiffusersLayoutTest.writeDiffusers(CHECKPOINT, Files.createDirectories(dir.resolve("tr")));
            MmditDenoiser plain = MmditDenoiser.load(folder, OnnxOptions.cpu());
            open.add(plain);
            // Split q/k/v adapters onto separate weights, and fused ones spread over them.
            for (LoraKeyStyle style : List.of(LoraKeyStyle.DIFFUSERS, LoraKeyStyle.KOHYA)) {
                Path f = lora("dl" + style, style);
                Tensor original = run(merged(CHECKPOINT, new LoraRequest(f, 1)));

                assertThat(relative(run(merged(folder, new LoraRequest(f, 1))), original)).as("%s", style)
                        .isLessThan(TOLERANCE);
                assertThat(relative(run(plain.withLoras(List.of(new LoraRequest(f, 1))).component()), original))
                        .as("%s", style).isLessThan(TOLERANCE);
            }
        }
    }

    @Nested
    class SeveralLoras {
        @Test
        void weightsAddUpLinearlyInTheMergedWeights() {
            Path one = lora("one", LoraKeyStyle.KOHYA);
            List<LoraFixtures.Adapter> second = LoraFixtures.random(shapes, List.of("joint_blocks.0.x_block.attn.qkv",
                    "final_layer.adaLN_modulation.1"), 2, 2.0, 0.05, 8);
            Path two = LoraFixtures.writeMmdit(dir.resolve("two.safetensors"), second, LoraKeyStyle.DIFFUSERS);
            String qkv = "model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight";
            String ada = "model.diffusion_model.final_layer.adaLN_modulation.1.weight";
            try (TensorSource s = Safetensors.open(CHECKPOINT)) {
                MmditWeights w = MmditWeights.of(s, CHECKPOINT);
                Tensor w0 = s.toFloatTensor(qkv);
                Tensor a0 = s.toFloatTensor(ada);
                Tensor[] d1 = deltas(s, w, List.of(new LoraRequest(one, 1)), qkv, ada);
                Tensor[] d2 = deltas(s, w, List.of(new LoraRequest(two, 1)), qkv, ada);
                Tensor[] both = deltas(s, w, List.of(new LoraRequest(one, 0.7), new LoraRequest(two, -0.4)), qkv,
                        ada);
                for (int k = 0; k < 2; k++) {
                    Tensor w00 = k == 0 ? w0 : a0;
                    double worst = 0;
                    for (int i = 0; i < w00.size(); i++) {
                        double expected = w00.get(i) + 0.7 * (d1[k].get(i) - w00.get(i))
                                - 0.4 * (d2[k].get(i) - w00.get(i));
                        worst = Math.max(worst, Math.abs(both[k].get(i) - expected));
                    }
                    // Each merged weight is rounded to float once: three roundings between them at most.
                    assertThat(worst).isLessThan(3 * Math.ulp(4f));
                }
            }
        }

        private Tensor[] deltas(TensorSource s, MmditWeights w, List<LoraRequest> loras, String... names) {
            LoraPlacement.Placed p = LoraPlacement.place(loras, LoraComponent.MMDIT, MmditModules.linearShapes(w),
                    CheckpointLocators.mmdit(w));
            TensorSource m = MergedTensorSource.of(s, p.adapters());
            Tensor[] out = new Tensor[names.length];
            for (int i = 0; i < names.length; i++) {
                out[i] = m.toFloatTensor(names[i]);
            }
            return out;
        }

        @Test
        void mergedAndSwitchableAgreeForSeveral() {
            Path one = lora("a", LoraKeyStyle.KOHYA);
            Path two = LoraFixtures.writeMmdit(dir.resolve("b.safetensors"), LoraFixtures.random(shapes,
                    List.of("joint_blocks.1.context_block.attn.qkv", "context_embedder"), 8, 8.0, 0.05, 9),
                    LoraKeyStyle.DIFFUSERS);
            List<LoraRequest> loras = List.of(new LoraRequest(one, 0.5), new LoraRequest(two, 1.5));

            assertThat(relative(run(base.withLoras(loras).component()),
                    run(merged(CHECKPOINT, loras.toArray(LoraRequest[]::new))))).isLessThan(TOLERANCE);
        }
    }

    @Nested
    class BadLoras {
        @Test
        void aLoraForAnotherModelNamesTheFirstOffendingTensor() {
            Path small = RandomCheckpoint.write(dir.resolve("depth1.safetensors"), 1, 96, 64, 16, true, Set.of(),
                    DType.F32, 1);
            Path f = lora("big", LoraKeyStyle.KOHYA);
            String expected = f + ": LoRA tensor 'lora_unet_context_embedder.lora_up.weight' has shape [128, 4],"
                    + " expected [64, 4] to fit model weight 'context_embedder.weight' [64, 96]";

            assertThatThrownBy(() -> MmditDenoiser.load(small, OnnxOptions.cpu(), MmditGraph.Attention.FUSED,
                    List.of(new LoraRequest(f, 1)))).isInstanceOf(ModelLoadException.class).hasMessage(expected);
            try (MmditDenoiser d = MmditDenoiser.load(small, OnnxOptions.cpu())) {
                assertThatThrownBy(() -> d.withLoras(List.of(new LoraRequest(f, 1))))
                        .isInstanceOf(ModelLoadException.class).hasMessage(expected);
            }
        }

        @Test
        void aRankMismatchNamesTheTensorAndBothShapes() {
            Path f = dir.resolve("rank.safetensors");
            SafetensorsWriter.create()
                    .add("transformer.context_embedder.lora_A.weight", Tensor.zeros(4, 96))
                    .add("transformer.context_embedder.lora_B.weight", Tensor.zeros(128, 8))
                    .write(f);

            assertThatThrownBy(() -> base.withLoras(List.of(new LoraRequest(f, 1))))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage(f + ": LoRA tensor 'transformer.context_embedder.lora_B.weight' has shape [128, 8],"
                            + " expected [out, 4] to match 'transformer.context_embedder.lora_A.weight' [4, 96]");
        }

        @Test
        void anUnknownLayoutListsWhatWasRecognised() {
            Path f = dir.resolve("sdxl.safetensors");
            SafetensorsWriter.create()
                    .add("lora_unet_down_blocks_1_attentions_0_proj_in.lora_down.weight", Tensor.zeros(4, 8))
                    .add("lora_unet_context_embedder.lora_down.weight", Tensor.zeros(4, 96))
                    .add("lora_unet_context_embedder.lora_up.weight", Tensor.zeros(128, 4))
                    .write(f);

            assertThatThrownBy(() -> merged(CHECKPOINT, new LoraRequest(f, 1)))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessageStartingWith(f + ": unrecognised LoRA key layout: 1 of 3 tensors fit no known layout,"
                            + " e.g. 'lora_unet_down_blocks_1_attentions_0_proj_in.lora_down.weight'; recognised: 0"
                            + " diffusers/PEFT tensors");
        }
    }
}
