package org.sd3j.onnx.clip;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parity with Stability's reference CLIP ({@code other_impls.py}, sd3.5 fbf8f48) on the golden tiny CLIP-L-style
 * encoder (3 layers, width 64, 4 heads, quick_gelu), two prompts padded to 77 with the end token. float32 within
 * 1e-4 of the reference's float32 outputs, and of its float64 ones where given.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClipParityTest {
    static final double TOLERANCE = 1e-4;
    private static final Logger LOG = LoggerFactory.getLogger(ClipParityTest.class);

    private OnnxClipEncoder encoder;
    private TensorSource golden;
    private long[][] ids;

    static Path resource(String path) {
        try {
            return Path.of(ClipParityTest.class.getResource("/golden/encoders/" + path).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test resource " + path, e);
        }
    }

    @BeforeAll
    void load() {
        encoder = OnnxClipEncoder.load(resource("clip_l/weights.safetensors"), EncoderRole.CLIP_L, OnnxOptions.cpu(),
                OnnxClipEncoder.Options.defaults().withHeads(4));
        golden = Safetensors.open(resource("clip_l/tokens77.safetensors"));
        long[] flat = golden.toLongArray("input_ids");
        ids = new long[2][77];
        for (int b = 0; b < 2; b++) {
            System.arraycopy(flat, b * 77, ids[b], 0, 77);
        }
    }

    @AfterAll
    void close() {
        encoder.close();
        golden.close();
    }

    private double diff(Tensor out, String name) {
        Tensor expected = golden.toFloatTensor(name);
        assertThat(out.shape()).containsExactly(expected.shape());
        double d = out.maxAbsDiff(expected);
        LOG.info("clip_l tokens77 {}: max abs diff {}", name, d);
        return d;
    }

    @Test
    void inferredConfig() {
        ClipConfig c = encoder.config();
        assertThat(c).isEqualTo(new ClipConfig(64, 3, 4, 256, 1000, 77, ClipConfig.Activation.QUICK_GELU, true));
    }

    @Test
    void everyHiddenStateMatches() {
        Map<String, Tensor> out = encoder.run(ids);
        for (int i = 0; i <= 3; i++) {
            assertThat(diff(out.get(ClipGraph.hiddenState(i)), "hidden_states." + i)).isLessThan(TOLERANCE);
        }
        assertThat(diff(out.get(ClipGraph.LAST_HIDDEN_STATE), "last_hidden_state")).isLessThan(TOLERANCE);
        assertThat(diff(out.get(ClipGraph.LAST_HIDDEN_STATE), "last_hidden_state_f64")).isLessThan(TOLERANCE);
        assertThat(diff(out.get(ClipGraph.POOLER_OUTPUT), "pooled")).isLessThan(TOLERANCE);
        assertThat(diff(out.get(ClipGraph.POOLER_OUTPUT), "pooled_f64")).isLessThan(TOLERANCE);
        assertThat(diff(out.get(ClipGraph.TEXT_EMBEDS), "pooled_projected")).isLessThan(TOLERANCE);
        assertThat(diff(out.get(ClipGraph.TEXT_EMBEDS), "pooled_projected_f64")).isLessThan(TOLERANCE);
    }

    @Test
    void sd3FeaturesArePenultimateAndUnprojectedPooled() {
        EncodedText e = encoder.encodeIds(ids);
        assertThat(diff(e.tokens(), "penultimate")).isLessThan(TOLERANCE);
        assertThat(diff(e.tokens(), "penultimate_f64")).isLessThan(TOLERANCE);
        assertThat(diff(e.pooled(), "sd3_pooled")).isLessThan(TOLERANCE);
        assertThat(diff(e.pooled(), "sd3_pooled_f64")).isLessThan(TOLERANCE);
    }

    @Test
    void pooledIndexIsTheFirstEndToken() {
        long[] expected = golden.toLongArray("pooled_index");
        assertThat(expected).containsExactly(6, 12);
        Map<String, Tensor> out = encoder.run(ids);
        Tensor last = out.get(ClipGraph.LAST_HIDDEN_STATE);
        Tensor pooled = out.get(ClipGraph.POOLER_OUTPUT);
        for (int b = 0; b < 2; b++) {
            for (int d = 0; d < 64; d++) {
                assertThat(pooled.at(b, d)).isEqualTo(last.at(b, (int) expected[b], d));
            }
        }
    }

    @Test
    void diffusersConventionProjectsThePooledVector() {
        try (OnnxClipEncoder projected = OnnxClipEncoder.load(resource("clip_l/weights.safetensors"),
                EncoderRole.CLIP_L, OnnxOptions.cpu(), OnnxClipEncoder.Options.defaults().withHeads(4)
                        .withPooled(OnnxClipEncoder.PooledConvention.PROJECTED))) {
            EncodedText e = projected.encodeIds(ids);
            assertThat(diff(e.pooled(), "pooled_projected")).isLessThan(TOLERANCE);
        }
    }

    @Test
    void shorterSequencesUseTheFirstPositions() {
        long[][] shortIds = new long[2][13];
        for (int b = 0; b < 2; b++) {
            System.arraycopy(ids[b], 0, shortIds[b], 0, 13);
        }
        Map<String, Tensor> full = encoder.run(ids);
        Map<String, Tensor> part = encoder.run(shortIds);
        Tensor a = full.get(ClipGraph.hiddenState(2));
        Tensor s = part.get(ClipGraph.hiddenState(2));
        assertThat(s.shape()).containsExactly(2, 13, 64);
        double max = 0;
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 13; t++) {
                for (int d = 0; d < 64; d++) {
                    max = Math.max(max, Math.abs(a.at(b, t, d) - s.at(b, t, d)));
                }
            }
        }
        // Causal: the first 13 positions do not see the rest.
        assertThat(max).isLessThan(1e-5);
    }

    @Test
    void chunkedSequencesConcatenateTheChunksAndPoolTheFirst() {
        // Prompt 0 as chunk 1 and prompt 1 as chunk 2 of one long (2 x 77) sequence.
        long[] both = new long[154];
        System.arraycopy(ids[0], 0, both, 0, 77);
        System.arraycopy(ids[1], 0, both, 77, 77);
        org.sd3j.model.EncodedText chunked = encoder.encodeIds(new long[][] {both});
        org.sd3j.model.EncodedText separate = encoder.encodeIds(ids);
        assertThat(chunked.tokens().shape()).containsExactly(1, 154, 64);
        assertThat(chunked.tokens().reshape(2, 77, 64).toArray()).containsExactly(separate.tokens().toArray());
        assertThat(chunked.pooled().toArray()).containsExactly(separate.pooled().slice(0, 1).toArray());
    }

    @Test
    void longSequencesThatAreNotWholeChunksAreRejected() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> encoder.encodeIds(new long[][] {new long[100]}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("token sequences must have 1 to 77 ids, found 100");
    }

    /** The reference's SD3 wrapper (sd3_infer.ClipL inside SD3Inferencer.get_cond) on one prompt: l_out, l_pooled. */
    @Test
    void matchesTheClipLPartOfTheSd3Conditioning() {
        try (TensorSource cond = Safetensors.open(resource("sd3_cond.safetensors"))) {
            long[][] one = {cond.toLongArray("ids.l")};
            EncodedText e = encoder.encodeIds(one);
            double tokens = e.tokens().maxAbsDiff(cond.toFloatTensor("l_out"));
            double pooled = e.pooled().maxAbsDiff(cond.toFloatTensor("l_pooled"));
            LOG.info("clip_l sd3_cond l_out: max abs diff {}, l_pooled: max abs diff {}", tokens, pooled);
            assertThat(e.tokens().shape()).containsExactly(1, 77, 64);
            assertThat(tokens).isLessThan(TOLERANCE);
            assertThat(pooled).isLessThan(TOLERANCE);
        }
    }
}
