package org.sd3j.onnx.clip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;
import org.sd3j.lora.LoraRequest;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.sd3j.onnx.lora.ClipModules;
import org.sd3j.onnx.lora.LoraComponent;
import org.sd3j.onnx.lora.LoraFixtures;
import org.sd3j.onnx.lora.LoraKeyStyle;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.tensor.Tensor;

/**
 * LoRA on a CLIP text encoder built from a checkpoint (the golden CLIP-L, width 64, 2 layers): merged at load and
 * switchable per generation agree within 1e-5 of the outputs' largest magnitude; weight 0 is the plain encoder bit
 * for bit; kohya, diffusers and checkpoint-key files merge to identical weights; a CLIP-G LoRA leaves CLIP-L alone.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClipLoraTest {
    private static final double TOLERANCE = 1e-5;
    private static final Path WEIGHTS = ClipParityTest.resource("clip_l/weights.safetensors");

    @TempDir
    Path dir;
    private OnnxClipEncoder base;
    private List<LoraFixtures.Adapter> adapters;
    private final List<AutoCloseable> open = new ArrayList<>();

    private static OnnxClipEncoder.Options options() {
        Function<String, long[]> tokenizer = prompt -> {
            long[] ids = new long[77];
            Arrays.fill(ids, 999);
            ids[0] = 998;
            for (int i = 0; i < prompt.length() && i < 20; i++) {
                ids[i + 1] = 10 + prompt.charAt(i) % 50;
            }
            return ids;
        };
        return OnnxClipEncoder.Options.defaults().withHeads(4).withTokenizer(tokenizer);
    }

    @BeforeAll
    void setUp() {
        base = OnnxClipEncoder.load(WEIGHTS, EncoderRole.CLIP_L, OnnxOptions.cpu(), options());
        open.add(base);
        Map<String, long[]> shapes = ClipModules.linearShapes(base.config());
        List<String> modules = shapes.keySet().stream().map(n -> n.substring(0, n.length() - ".weight".length()))
                .toList();
        adapters = LoraFixtures.random(shapes, modules, 4, 4.0, 0.1, 3);
    }

    @AfterAll
    void tearDown() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    private OnnxClipEncoder merged(LoraRequest... loras) {
        OnnxClipEncoder e = OnnxClipEncoder.load(WEIGHTS, EncoderRole.CLIP_L, OnnxOptions.cpu(), options(),
                List.of(loras));
        open.add(e);
        return e;
    }

    private Path lora(String name, LoraComponent encoder, LoraKeyStyle style) {
        return LoraFixtures.writeClip(dir.resolve(name + ".safetensors"), encoder, adapters, style);
    }

    private static EncodedText encode(TextEncoder e) {
        return e.encode(List.of("a red fox", "snow"));
    }

    private static double relative(Tensor a, Tensor b) {
        double max = 0;
        for (int i = 0; i < b.size(); i++) {
            max = Math.max(max, Math.abs(b.get(i)));
        }
        return a.maxAbsDiff(b) / max;
    }

    @Test
    void mergedAndSwitchableGiveTheSameFeatures() {
        Path f = lora("kohya", LoraComponent.CLIP_L, LoraKeyStyle.KOHYA);
        EncodedText merged = encode(merged(new LoraRequest(f, 0.9)));
        var view = base.withLoras(List.of(new LoraRequest(f, 0.9)));
        EncodedText switchable = encode(view.component());
        EncodedText plain = encode(base);

        assertThat(relative(switchable.tokens(), merged.tokens())).isLessThan(TOLERANCE);
        assertThat(relative(switchable.pooled(), merged.pooled())).isLessThan(TOLERANCE);
        assertThat(relative(plain.tokens(), merged.tokens())).isGreaterThan(1e-2);
        assertThat(view.parts()).containsExactly(Map.entry(f, Set.of("clip_l")));
    }

    @Test
    void weightZeroIsThePlainEncoderBitForBit() {
        Path f = lora("zero", LoraComponent.CLIP_L, LoraKeyStyle.KOHYA);

        EncodedText merged = encode(merged(new LoraRequest(f, 0)));

        assertThat(merged.tokens().toArray()).containsExactly(encode(base).tokens().toArray());
        assertThat(base.withLoras(List.of(new LoraRequest(f, 0))).component()).isSameAs(base);
    }

    @Test
    void everyLayoutMergesToTheSameWeights() {
        Tensor expected = encode(merged(new LoraRequest(lora("k", LoraComponent.CLIP_L, LoraKeyStyle.KOHYA), 1)))
                .tokens();
        for (LoraKeyStyle style : List.of(LoraKeyStyle.DIFFUSERS, LoraKeyStyle.COMFYUI, LoraKeyStyle.ORIGINAL)) {
            Path f = lora(style.name(), LoraComponent.CLIP_L, style);

            assertThat(encode(merged(new LoraRequest(f, 1))).tokens().toArray()).as("%s", style)
                    .containsExactly(expected.toArray());
        }
    }

    @Test
    void anotherEncodersLoraLeavesThisOneAlone() {
        Path f = lora("g", LoraComponent.CLIP_G, LoraKeyStyle.KOHYA);

        var view = base.withLoras(List.of(new LoraRequest(f, 1)));

        assertThat(view.component()).isSameAs(base);
        assertThat(view.parts()).containsExactly(Map.entry(f, Set.of("clip_g")));
        assertThat(encode(merged(new LoraRequest(f, 1))).tokens().toArray())
                .containsExactly(encode(base).tokens().toArray());
    }

    @Test
    void aLoraForAWiderEncoderNamesTheFirstOffendingTensor() {
        Path f = dir.resolve("wide.safetensors");
        SafetensorsWriter.create()
                .add("lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", Tensor.zeros(4, 768))
                .add("lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight", Tensor.zeros(3072, 4))
                .write(f);

        assertThatThrownBy(() -> base.withLoras(List.of(new LoraRequest(f, 1))))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(f + ": LoRA tensor 'lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight' has"
                        + " shape [4, 768], expected [4, 64] to fit model weight"
                        + " 'text_model.encoder.layers.0.mlp.fc1.weight' [" + base.config().intermediate()
                        + ", 64] of the clip_l encoder");
    }
}
