package org.sd3j.onnx.clip;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/** The graph saved as {@code model.onnx} keeps optimum's I/O names and the reference's numbers. */
class ClipGraphExportTest {
    @TempDir
    Path dir;

    @Test
    void savedModelHasOptimumNamesAndMatchesTheGolden() {
        Path model = dir.resolve("model.onnx");
        try (TensorSource weights = Safetensors.open(ClipParityTest.resource("clip_l/weights.safetensors"))) {
            ClipWeights w = ClipWeights.of(weights, ClipParityTest.resource("clip_l/weights.safetensors"),
                    EncoderRole.CLIP_L);
            ClipConfig cfg = ClipConfig.infer(w, ClipConfig.Activation.QUICK_GELU, 4);
            ClipGraph.build(cfg, w).save(model);
        }
        try (GraphSession s = GraphSession.load(model, OnnxOptions.cpu());
             TensorSource golden = Safetensors.open(ClipParityTest.resource("clip_l/tokens77.safetensors"))) {
            assertThat(s.inputNames()).containsExactly("input_ids");
            assertThat(s.outputNames()).containsExactlyInAnyOrder("hidden_states.0", "hidden_states.1",
                    "hidden_states.2", "hidden_states.3", "last_hidden_state", "pooler_output", "text_embeds");
            long[] ids = golden.toLongArray("input_ids");
            float[] f = new float[ids.length];
            for (int i = 0; i < ids.length; i++) {
                f[i] = ids[i];
            }
            Map<String, Tensor> out = s.run(Map.of("input_ids", Tensor.of(f, 2, 77)));
            assertThat(out.get("hidden_states.2").maxAbsDiff(golden.toFloatTensor("penultimate"))).isLessThan(1e-4);
            assertThat(out.get("text_embeds").maxAbsDiff(golden.toFloatTensor("pooled_projected"))).isLessThan(1e-4);
        }
    }

    /** Default heads are width / 64 (CLIP-L: 12 at 768, bigG: 20 at 1280); here 2 at width 128. */
    @Test
    void defaultHeadsAreWidthOver64() {
        Path ckpt = dir.resolve("clip_g.safetensors");
        int d = 128;
        int f = 256;
        Random r = new Random(7);
        SafetensorsWriter w = SafetensorsWriter.create();
        String p = "text_encoders.clip_g.transformer.";
        w.add(p + ClipWeights.TOKEN_EMBEDDING, random(r, 50 * d), 50, d);
        w.add(p + ClipWeights.POSITION_EMBEDDING, random(r, 77 * d), 77, d);
        w.add(p + "text_model.final_layer_norm.weight", random(r, d), d);
        w.add(p + "text_model.final_layer_norm.bias", random(r, d), d);
        w.add(p + ClipWeights.PROJECTION, random(r, d * d), d, d);
        String l = p + ClipWeights.layer(0, "");
        for (String n : new String[] {"q", "k", "v", "out"}) {
            w.add(l + "self_attn." + n + "_proj.weight", random(r, d * d), d, d);
            w.add(l + "self_attn." + n + "_proj.bias", random(r, d), d);
        }
        for (String n : new String[] {"layer_norm1", "layer_norm2"}) {
            w.add(l + n + ".weight", random(r, d), d);
            w.add(l + n + ".bias", random(r, d), d);
        }
        w.add(l + "mlp.fc1.weight", random(r, f * d), f, d);
        w.add(l + "mlp.fc1.bias", random(r, f), f);
        w.add(l + "mlp.fc2.weight", random(r, d * f), d, f);
        w.add(l + "mlp.fc2.bias", random(r, d), d);
        w.write(ckpt);
        try (OnnxClipEncoder e = OnnxClipEncoder.load(ckpt, EncoderRole.CLIP_G, OnnxOptions.cpu())) {
            assertThat(e.config()).isEqualTo(new ClipConfig(d, 1, 2, f, 50, 77, ClipConfig.Activation.GELU, true));
            long[][] ids = {{49, 3, 0, 0}};
            var out = e.encodeIds(ids);
            assertThat(out.tokens().shape()).containsExactly(1, 4, d);
            assertThat(out.pooled().shape()).containsExactly(1, d);
            assertThat(out.tokens().allFinite()).isTrue();
            // One layer: the penultimate state is the embeddings.
            assertThat(out.tokens().maxAbsDiff(e.run(ids).get("hidden_states.0"))).isZero();
        }
    }

    private static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * 0.1);
        }
        return a;
    }
}
