package org.sd3j.onnx.clip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.sd3j.ModelLoadException;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CLIP-G style (exact-erf GELU, projected pooled vector, ids padded with 0) against a float64 torch
 * transcription of the reference ({@code src/test/python/make_clip_g_golden.py}; width 96, 6 heads, 4 layers):
 * the SD3 single-file layout in F32 and the standalone layout in F16 (same values), float32 within 1e-4.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClipGStyleTest {
    static final double TOLERANCE = 1e-4;
    private static final Logger LOG = LoggerFactory.getLogger(ClipGStyleTest.class);
    private static final OnnxClipEncoder.Options SIX_HEADS = OnnxClipEncoder.Options.defaults().withHeads(6);

    private OnnxClipEncoder checkpoint;
    private OnnxClipEncoder half;
    private TensorSource golden;
    private long[][] ids;

    @BeforeAll
    void load() {
        checkpoint = OnnxClipEncoder.load(ClipParityTest.resource("clip_g_torch/checkpoint.safetensors"), EncoderRole.CLIP_G,
                OnnxOptions.cpu(), SIX_HEADS);
        half = OnnxClipEncoder.load(ClipParityTest.resource("clip_g_torch/clip_g_f16.safetensors"), EncoderRole.CLIP_G,
                OnnxOptions.cpu(), SIX_HEADS);
        golden = Safetensors.open(ClipParityTest.resource("clip_g_torch/tokens77.safetensors"));
        long[] flat = golden.toLongArray("input_ids");
        ids = new long[2][77];
        for (int b = 0; b < 2; b++) {
            System.arraycopy(flat, b * 77, ids[b], 0, 77);
        }
    }

    @AfterAll
    void close() {
        checkpoint.close();
        half.close();
        golden.close();
    }

    private double diff(String which, Tensor out, String name) {
        Tensor expected = golden.toFloatTensor(name);
        assertThat(out.shape()).containsExactly(expected.shape());
        double d = out.maxAbsDiff(expected);
        LOG.info("clip_g ({}) tokens77 {}: max abs diff {}", which, name, d);
        return d;
    }

    @Test
    void configFromTheRoleAndShapes() {
        assertThat(checkpoint.config())
                .isEqualTo(new ClipConfig(96, 4, 6, 384, 1000, 77, ClipConfig.Activation.GELU, true));
        assertThat(half.config()).isEqualTo(checkpoint.config());
    }

    @Test
    void idsArePaddedWithZeroAndPooledAtTheEndToken() {
        assertThat(ids[0][7]).isZero();
        assertThat(golden.toLongArray("pooled_index")).containsExactly(6, 12);
    }

    @Test
    void everyHiddenStateMatchesInBothLayouts() {
        for (OnnxClipEncoder e : new OnnxClipEncoder[] {checkpoint, half}) {
            String which = e == half ? "f16 standalone" : "f32 sd3 checkpoint";
            Map<String, Tensor> out = e.run(ids);
            for (int i = 0; i <= 4; i++) {
                assertThat(diff(which, out.get(ClipGraph.hiddenState(i)), "hidden_states." + i + "_f64"))
                        .isLessThan(TOLERANCE);
            }
            assertThat(diff(which, out.get(ClipGraph.LAST_HIDDEN_STATE), "last_hidden_state_f64"))
                    .isLessThan(TOLERANCE);
            assertThat(diff(which, out.get(ClipGraph.POOLER_OUTPUT), "pooled_f64")).isLessThan(TOLERANCE);
            assertThat(diff(which, out.get(ClipGraph.TEXT_EMBEDS), "pooled_projected_f64")).isLessThan(TOLERANCE);
        }
    }

    @Test
    void sd3FeaturesArePenultimateAndProjectedPooled() {
        EncodedText e = checkpoint.encodeIds(ids);
        assertThat(diff("f32 sd3 checkpoint", e.tokens(), "penultimate_f64")).isLessThan(TOLERANCE);
        assertThat(diff("f32 sd3 checkpoint", e.pooled(), "pooled_projected_f64")).isLessThan(TOLERANCE);
        EncodedText h = half.encodeIds(ids);
        assertThat(diff("f16 standalone", h.tokens(), "penultimate_f64")).isLessThan(TOLERANCE);
        assertThat(diff("f16 standalone", h.pooled(), "pooled_projected_f64")).isLessThan(TOLERANCE);
    }

    @Test
    void unprojectedConventionOnRequest() {
        try (OnnxClipEncoder e = OnnxClipEncoder.load(ClipParityTest.resource("clip_g_torch/checkpoint.safetensors"),
                EncoderRole.CLIP_G, OnnxOptions.cpu(),
                SIX_HEADS.withPooled(OnnxClipEncoder.PooledConvention.UNPROJECTED))) {
            assertThat(diff("unprojected", e.encodeIds(ids).pooled(), "pooled_f64")).isLessThan(TOLERANCE);
        }
    }

    @Test
    void activationMatters() {
        try (OnnxClipEncoder quick = OnnxClipEncoder.load(ClipParityTest.resource("clip_g_torch/checkpoint.safetensors"),
                EncoderRole.CLIP_G, OnnxOptions.cpu(), SIX_HEADS.withActivation(ClipConfig.Activation.QUICK_GELU))) {
            Tensor wrong = quick.run(ids).get(ClipGraph.hiddenState(1));
            assertThat(wrong.maxAbsDiff(golden.toFloatTensor("hidden_states.1_f64"))).isGreaterThan(1e-3);
        }
    }

    @Test
    void defaultHeadCountNeedsAWidthMultipleOf64() {
        assertThatThrownBy(() -> OnnxClipEncoder.load(ClipParityTest.resource("clip_g_torch/checkpoint.safetensors"),
                EncoderRole.CLIP_G, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("width 96 is not a multiple of 64: pass the head count explicitly")
                .hasMessageContaining("text_encoders.clip_g.transformer.");
    }
}
