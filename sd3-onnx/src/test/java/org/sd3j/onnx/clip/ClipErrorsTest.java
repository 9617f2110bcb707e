package org.sd3j.onnx.clip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorInfo;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/** Bad checkpoints and bad inputs give errors that name the tensor, the layout and what was expected. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClipErrorsTest {
    private static final OnnxClipEncoder.Options FOUR_HEADS = OnnxClipEncoder.Options.defaults().withHeads(4);
    private static final OnnxClipEncoder.Options SIX_HEADS = OnnxClipEncoder.Options.defaults().withHeads(6);
    private OnnxClipEncoder clipL;

    @TempDir
    Path dir;

    @BeforeAll
    void load() {
        clipL = OnnxClipEncoder.load(ClipParityTest.resource("clip_l/weights.safetensors"), EncoderRole.CLIP_L,
                OnnxOptions.cpu(), FOUR_HEADS);
    }

    @AfterAll
    void close() {
        clipL.close();
    }

    /** Copies a golden checkpoint without the tensors {@code drop} selects. */
    private Path without(String resource, Predicate<String> drop) {
        Path out = dir.resolve("edited-" + System.nanoTime() + ".safetensors");
        try (TensorSource src = Safetensors.open(ClipParityTest.resource(resource))) {
            SafetensorsWriter w = SafetensorsWriter.create();
            for (String name : src.names()) {
                if (!drop.test(name)) {
                    TensorInfo info = src.info(name);
                    w.add(name, info.dtype(), info.shape(), src.bytes(name));
                }
            }
            w.write(out);
        }
        return out;
    }

    private static long[][] toyIds(int length) {
        long[][] ids = new long[1][length];
        ids[0][0] = 998;
        ids[0][1] = 5;
        for (int i = 2; i < length; i++) {
            ids[0][i] = 999;
        }
        return ids;
    }

    @Test
    void otherRoleInAnSd3CheckpointIsNamed() {
        assertThatThrownBy(() -> OnnxClipEncoder.load(ClipParityTest.resource("clip_g_torch/checkpoint.safetensors"),
                EncoderRole.CLIP_L, OnnxOptions.cpu(), SIX_HEADS))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("no clip_l CLIP text encoder found")
                .hasMessageContaining("'text_encoders.clip_l.transformer.text_model.embeddings.token_embedding.weight'")
                .hasMessageContaining("[text_encoders.clip_g.transformer.]");
    }

    @Test
    void partialKeysNameTheMissingTensorAndLayout() {
        Path partial = without("clip_g_torch/checkpoint.safetensors", n -> n.endsWith("layers.2.mlp.fc2.weight"));
        assertThatThrownBy(() -> OnnxClipEncoder.load(partial, EncoderRole.CLIP_G, OnnxOptions.cpu(), SIX_HEADS))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("missing tensor 'text_encoders.clip_g.transformer.text_model.encoder.layers.2"
                        + ".mlp.fc2.weight' in the SD3 checkpoint layout with prefix 'text_encoders.clip_g.transformer.'");
    }

    @Test
    void missingFinalLayerNormIsNamed() {
        Path partial = without("clip_l/weights.safetensors", n -> n.startsWith("text_model.final_layer_norm.bias"));
        assertThatThrownBy(() -> OnnxClipEncoder.load(partial, EncoderRole.CLIP_L, OnnxOptions.cpu(), FOUR_HEADS))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("missing tensor 'text_model.final_layer_norm.bias' in the transformers CLIP"
                        + " layout without prefix");
    }

    @Test
    void noClipAtAll() {
        Path empty = without("clip_l/weights.safetensors", n -> n.startsWith("text_model."));
        assertThatThrownBy(() -> OnnxClipEncoder.load(empty, EncoderRole.CLIP_L, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("no clip_l CLIP text encoder found")
                .hasMessageContaining("no CLIP encoder");
    }

    @Test
    void missingProjectionIsTheIdentity() {
        Path noProjection = without("clip_l/weights.safetensors", n -> n.equals("text_projection.weight"));
        try (OnnxClipEncoder e = OnnxClipEncoder.load(noProjection, EncoderRole.CLIP_L, OnnxOptions.cpu(),
                FOUR_HEADS.withPooled(OnnxClipEncoder.PooledConvention.PROJECTED))) {
            assertThat(e.config().hasProjection()).isFalse();
            long[][] ids = toyIds(77);
            assertThat(e.encodeIds(ids).pooled().maxAbsDiff(clipL.encodeIds(ids).pooled())).isZero();
        }
    }

    @Test
    void sequenceRoleIsRejected() {
        assertThatThrownBy(() -> OnnxClipEncoder.load(ClipParityTest.resource("clip_l/weights.safetensors"),
                EncoderRole.T5, OnnxOptions.cpu()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("role must be of kind CLIP, found t5xxl (SEQUENCE)");
    }

    @Test
    void customRoleNeedsAnActivation() {
        EncoderRole custom = EncoderRole.custom("clip_x", EncoderRole.Kind.CLIP);
        assertThatThrownBy(() -> OnnxClipEncoder.load(ClipParityTest.resource("clip_l/weights.safetensors"), custom,
                OnnxOptions.cpu()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("pass the activation explicitly");
    }

    @Test
    void idsOutsideTheVocabulary() {
        long[][] ids = toyIds(77);
        ids[0][3] = 1000;
        assertThatThrownBy(() -> clipL.encodeIds(ids))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("token ids must be in [0, 1000), found 1000 at [0, 3]");
    }

    @Test
    void sequencesLongerThanThePositions() {
        assertThatThrownBy(() -> clipL.encodeIds(toyIds(78)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("token sequences must have 1 to 77 ids, found 78");
    }

    @Test
    void raggedBatch() {
        long[][] ids = {toyIds(77)[0], toyIds(76)[0]};
        assertThatThrownBy(() -> clipL.encodeIds(ids))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("token sequences must all have length 77, found 76 at index 1");
    }

    @Test
    void promptsNeedATokenizer() {
        assertThatThrownBy(() -> clipL.encode(List.of("w17")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("has no tokenizer");
    }

    @Test
    void promptsGoThroughTheGivenTokenizer() {
        // The golden's toy tokenizer: 'w<N>' -> N, start 998, end 999, padded with the end token.
        java.util.function.Function<String, long[]> toy = prompt -> {
            long[] out = new long[77];
            java.util.Arrays.fill(out, 999);
            out[0] = 998;
            String[] words = prompt.trim().split("\\s+");
            for (int i = 0; i < words.length; i++) {
                out[i + 1] = Long.parseLong(words[i].substring(1));
            }
            return out;
        };
        try (OnnxClipEncoder e = OnnxClipEncoder.load(ClipParityTest.resource("clip_l/weights.safetensors"),
                EncoderRole.CLIP_L, OnnxOptions.cpu(), FOUR_HEADS.withTokenizer(toy));
             TensorSource golden = Safetensors.open(ClipParityTest.resource("clip_l/tokens77.safetensors"))) {
            EncodedText out = e.encode(List.of("w17 w523 w4 w997 w250", "w42 w7 w333 w900 w12 w61 w455 w800 w2 w99 w650"));
            assertThat(out.tokens().maxAbsDiff(golden.toFloatTensor("penultimate"))).isLessThan(1e-4);
            assertThat(out.pooled().maxAbsDiff(golden.toFloatTensor("sd3_pooled"))).isLessThan(1e-4);
        }
    }

    @Test
    void closedEncoderRefusesWorkAndClosesTwice() {
        OnnxClipEncoder e = OnnxClipEncoder.load(ClipParityTest.resource("clip_l/weights.safetensors"),
                EncoderRole.CLIP_L, OnnxOptions.cpu(), FOUR_HEADS);
        e.close();
        e.close();
        assertThatThrownBy(() -> e.encodeIds(toyIds(77)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is closed");
    }

    @Test
    void concurrentCallsAgree() throws Exception {
        long[][] ids = toyIds(77);
        Tensor expected = clipL.encodeIds(ids).tokens();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<Tensor>> results = new java.util.ArrayList<>();
            for (int i = 0; i < 8; i++) {
                results.add(pool.submit(() -> clipL.encodeIds(ids).tokens()));
            }
            for (java.util.concurrent.Future<Tensor> f : results) {
                assertThat(f.get().maxAbsDiff(expected)).isZero();
            }
        } finally {
            pool.shutdown();
        }
    }
}
