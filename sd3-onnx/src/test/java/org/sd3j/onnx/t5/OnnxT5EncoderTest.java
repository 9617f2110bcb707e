package org.sd3j.onnx.t5;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Half;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/** The T5 encoder as a {@link org.sd3j.model.TextEncoder}: layouts, float16 checkpoints, tokenizer hook, errors. */
class OnnxT5EncoderTest {

    private static Path weights() {
        return T5ParityTest.resource("weights.safetensors");
    }

    private static TensorSource golden() {
        return Safetensors.open(T5ParityTest.resource("tokens77.safetensors"));
    }

    /** Rewrites the golden weights with {@code rename} applied to each name, as {@code dtype}. */
    private static Path rewrite(Path dir, String file, java.util.function.UnaryOperator<String> rename, DType dtype) {
        return rewrite(dir, file, rename, dtype, dtype == DType.F16);
    }

    /** As above; {@code roundToHalf} rounds every value to float16 first (stored as {@code dtype}). */
    private static Path rewrite(Path dir, String file, java.util.function.UnaryOperator<String> rename, DType dtype,
                                boolean roundToHalf) {
        SafetensorsWriter out = SafetensorsWriter.create();
        try (TensorSource src = Safetensors.open(weights())) {
            for (String name : src.names()) {
                Tensor t = src.toFloatTensor(name);
                if (roundToHalf) {
                    for (int i = 0; i < t.size(); i++) {
                        t.set(i, Half.f16ToFloat(Half.floatToF16(t.get(i))));
                    }
                }
                if (dtype == DType.F16) {
                    out.addAs(rename.apply(name), t, DType.F16);
                } else {
                    out.add(rename.apply(name), t);
                }
            }
        }
        Path p = dir.resolve(file);
        out.write(p);
        return p;
    }

    @Test
    void encodeIdsReturnsTheLastHiddenStateWithoutPooledVector() {
        try (OnnxT5Encoder enc = OnnxT5Encoder.load(weights(), OnnxOptions.cpu()); TensorSource g = golden()) {
            EncodedText out = enc.encodeIds(T5ParityTest.goldenIds(g));
            assertThat(enc.role()).isEqualTo(EncoderRole.T5);
            assertThat(out.tokens().shape()).containsExactly(2, 77, 192);
            assertThat(out.pooledVector()).isEmpty();
            assertThat(out.tokens().maxAbsDiff(g.toFloatTensor("last_hidden_state"))).isLessThan(1e-4);
        }
    }

    @Test
    void anySequenceLengthIsAccepted() {
        // Without a mask every token attends to every other: a shorter input is a different computation, but the
        // graph must accept any length (the bias is computed from the run-time length).
        try (OnnxT5Encoder enc = OnnxT5Encoder.load(weights(), OnnxOptions.cpu())) {
            assertThat(enc.encodeIds(new long[][] {{5, 1}}).tokens().shape()).containsExactly(1, 2, 192);
            assertThat(enc.encodeIds(new long[][] {{7}}).tokens().shape()).containsExactly(1, 1, 192);
            long[][] longIds = new long[1][300];
            longIds[0][0] = 17;
            longIds[0][1] = 1;
            Tensor t = enc.encodeIds(longIds).tokens();
            assertThat(t.shape()).containsExactly(1, 300, 192);
            assertThat(t.allFinite()).isTrue();
        }
    }

    @Test
    void singleFileCheckpointPrefixIsFound(@TempDir Path dir) {
        Path file = rewrite(dir, "sd3.safetensors", n -> T5Weights.CHECKPOINT_PREFIX + n, DType.F32);
        try (OnnxT5Encoder enc = OnnxT5Encoder.load(file, OnnxOptions.cpu()); TensorSource g = golden()) {
            assertThat(enc.encodeIds(T5ParityTest.goldenIds(g)).tokens()
                    .maxAbsDiff(g.toFloatTensor("last_hidden_state"))).isLessThan(1e-4);
        }
    }

    @Test
    void tiedSharedEmbeddingIsUsedWhenEmbedTokensIsAbsent(@TempDir Path dir) {
        Path file = rewrite(dir, "t5.safetensors",
                n -> n.equals("encoder.embed_tokens.weight") ? "shared.weight" : n, DType.F32);
        try (OnnxT5Encoder enc = OnnxT5Encoder.load(file, OnnxOptions.cpu()); TensorSource g = golden()) {
            assertThat(enc.encodeIds(T5ParityTest.goldenIds(g)).tokens()
                    .maxAbsDiff(g.toFloatTensor("last_hidden_state"))).isLessThan(1e-4);
        }
    }

    @Test
    void float16CheckpointMatchesItsFloat32Twin(@TempDir Path dir) {
        Path half = rewrite(dir, "half.safetensors", n -> n, DType.F16);
        Path wide = rewrite(dir, "wide.safetensors", n -> n, DType.F32, true);
        try (OnnxT5Encoder h = OnnxT5Encoder.load(half, OnnxOptions.cpu());
             OnnxT5Encoder w = OnnxT5Encoder.load(wide, OnnxOptions.cpu());
             TensorSource g = golden()) {
            Tensor ids = OnnxT5Encoder.toTensor(T5ParityTest.goldenIds(g), 1000);
            Tensor a = h.encodeIds(T5ParityTest.goldenIds(g)).tokens();
            Tensor b = w.encodeIds(T5ParityTest.goldenIds(g)).tokens();
            // The float32 twin with its weights bound the same way (as run-time inputs) computes the same thing.
            Tensor c;
            try (TensorSource src = Safetensors.open(wide)) {
                T5Weights tw = T5Weights.of(src, wide);
                try (GraphSession s = GraphSession.create(T5Graph.build(T5Config.infer(tw), tw), OnnxOptions.cpu(),
                        GraphSession.WeightBinding.INPUTS)) {
                    c = s.run(Map.of(T5Graph.INPUT_IDS, ids)).get(T5Graph.OUTPUT);
                }
            }
            double sameBinding = a.maxAbsDiff(c);
            double initializers = a.maxAbsDiff(b);
            double moved = b.maxAbsDiff(g.toFloatTensor("last_hidden_state"));
            System.out.printf("T5 float16 checkpoint vs float32 twin: %.3g same binding, %.3g vs initializers"
                    + " (rounding moved the output by %.3g)%n", sameBinding, initializers, moved);
            assertThat(sameBinding).isLessThan(1e-6);
            // Initializers may be prepacked by ONNX Runtime (another summation order): float32 noise only.
            assertThat(initializers).isLessThan(1e-5);
            // Rounding the weights moved the output, so the test would see a half-precision graph.
            assertThat(moved).isGreaterThan(1e-4);
        }
    }

    @Test
    void bfloat16CheckpointIsWidenedAndRuns(@TempDir Path dir) {
        SafetensorsWriter out = SafetensorsWriter.create();
        try (TensorSource src = Safetensors.open(weights())) {
            for (String name : src.names()) {
                out.addAs(name, src.toFloatTensor(name), DType.BF16);
            }
        }
        Path file = dir.resolve("bf16.safetensors");
        out.write(file);
        try (OnnxT5Encoder enc = OnnxT5Encoder.load(file, OnnxOptions.cpu()); TensorSource g = golden()) {
            Tensor t = enc.encodeIds(T5ParityTest.goldenIds(g)).tokens();
            double d = t.maxAbsDiff(g.toFloatTensor("last_hidden_state"));
            assertThat(d).isGreaterThan(1e-4).isLessThan(0.5);
        }
    }

    /** The graph saved as {@code model.onnx} + external data (conversion) loads and computes the same. */
    @Test
    void savedGraphComputesTheSame(@TempDir Path dir) {
        for (DType dtype : new DType[] {DType.F32, DType.F16}) {
            Path file = rewrite(dir, "t5-" + dtype + ".safetensors", n -> n, dtype);
            Path model = dir.resolve(dtype.toString()).resolve("model.onnx");
            try (TensorSource g = golden(); OnnxT5Encoder enc = OnnxT5Encoder.load(file, OnnxOptions.cpu())) {
                java.nio.file.Files.createDirectories(model.getParent());
                enc.graph().save(model);
                Tensor ids = OnnxT5Encoder.toTensor(T5ParityTest.goldenIds(g), 1000);
                try (GraphSession s = GraphSession.load(model, OnnxOptions.cpu())) {
                    assertThat(s.inputNames()).containsExactly(T5Graph.INPUT_IDS);
                    assertThat(s.outputNames()).containsExactly(T5Graph.OUTPUT);
                    Tensor saved = s.run(Map.of(T5Graph.INPUT_IDS, ids)).get(T5Graph.OUTPUT);
                    assertThat(saved.maxAbsDiff(enc.encodeIds(T5ParityTest.goldenIds(g)).tokens()))
                            .as(dtype.toString()).isLessThan(1e-5);
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    @Test
    void float16WeightsStayFloat16(@TempDir Path dir) {
        Path half = rewrite(dir, "half.safetensors", n -> n, DType.F16);
        try (TensorSource src = Safetensors.open(half)) {
            T5Weights w = T5Weights.of(src, half);
            assertThat(w.hasHalfWeights()).isTrue();
            assertThat(w.get("encoder.block.0.layer.0.SelfAttention.q.weight").type())
                    .isEqualTo(org.sd3j.onnx.graph.ElementType.FLOAT16);
        }
    }

    @Test
    void encodeUsesThePluggedTokenizer() {
        try (OnnxT5Encoder enc = OnnxT5Encoder.load(weights(), OnnxOptions.cpu(),
                p -> p.isEmpty() ? new long[] {1, 0, 0} : new long[] {p.length(), 1, 0});
             OnnxT5Encoder plain = OnnxT5Encoder.load(weights(), OnnxOptions.cpu())) {
            Tensor viaText = enc.encode(List.of("abcd", "")).tokens();
            Tensor viaIds = plain.encodeIds(new long[][] {{4, 1, 0}, {1, 0, 0}}).tokens();
            assertThat(viaText.maxAbsDiff(viaIds)).isZero();
        }
    }

    @Test
    void encodeWithoutTokenizerFailsClearly() {
        try (OnnxT5Encoder enc = OnnxT5Encoder.load(weights(), OnnxOptions.cpu())) {
            assertThatThrownBy(() -> enc.encode(List.of("a cat")))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("has no tokenizer");
        }
    }

    @Test
    void badIdsAreRejected() {
        try (OnnxT5Encoder enc = OnnxT5Encoder.load(weights(), OnnxOptions.cpu())) {
            assertThatThrownBy(() -> enc.encodeIds(new long[][] {{1, 2}, {1}}))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("ids rows must all have length 2, found 1 in row 1");
            assertThatThrownBy(() -> enc.encodeIds(new long[][] {{1000}}))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("token ids must be in [0, 1000), found 1000 at [0, 0]");
            assertThatThrownBy(() -> enc.encodeIds(new long[0][]))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void closedEncoderRefusesWorkAndClosesTwice() {
        OnnxT5Encoder enc = OnnxT5Encoder.load(weights(), OnnxOptions.cpu());
        enc.close();
        enc.close();
        assertThatThrownBy(() -> enc.encodeIds(new long[][] {{1}}))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void fileWithoutT5IsAClearError(@TempDir Path dir) {
        Path file = dir.resolve("other.safetensors");
        SafetensorsWriter.create().add("model.diffusion_model.x", new float[] {1}, 1).write(file);
        assertThatThrownBy(() -> OnnxT5Encoder.load(file, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("no T5 encoder weights found")
                .hasMessageContaining("text_encoders.t5xxl.transformer.");
    }

    @Test
    void partialCheckpointNamesTheMissingTensor(@TempDir Path dir) {
        Path file = rewrite(dir, "partial.safetensors",
                n -> n.equals("encoder.block.1.layer.1.DenseReluDense.wo.weight") ? "dropped" : n, DType.F32);
        assertThatThrownBy(() -> OnnxT5Encoder.load(file, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("missing tensor 'encoder.block.1.layer.1.DenseReluDense.wo.weight'");
    }

    /**
     * The in-graph buckets equal Hugging Face's formula evaluated in float32 (as torch does) for every relative
     * distance a 600-token input has, beyond max_distance included.
     */
    @Test
    void bucketsMatchTheReferenceFormulaForLongSequences() {
        try (TensorSource src = Safetensors.open(weights())) {
            T5Weights w = T5Weights.of(src, weights());
            T5Config cfg = T5Config.infer(w);
            int s = 600;
            try (GraphSession session = GraphSession.create(T5Graph.build(cfg, w, true), OnnxOptions.cpu())) {
                Tensor buckets = session.run(Map.of(T5Graph.INPUT_IDS, Tensor.zeros(1, s))).get(T5Graph.BUCKETS);
                for (int q = 0; q < s; q++) {
                    for (int k = 0; k < s; k++) {
                        assertThat((long) buckets.at(q, k)).as("bucket of %d - %d", k, q)
                                .isEqualTo(referenceBucket(k - q, 32, 128));
                    }
                }
            }
        }
    }

    /** {@code _relative_position_bucket(bidirectional=True)} with torch's float32 arithmetic. */
    static long referenceBucket(long relative, int numBuckets, int maxDistance) {
        int half = numBuckets / 2;
        long bucket = relative > 0 ? half : 0;
        long n = Math.abs(relative);
        int maxExact = half / 2;
        if (n < maxExact) {
            return bucket + n;
        }
        float ratio = (float) n / (float) maxExact;
        float log = (float) Math.log(ratio);
        float scaled = log / (float) Math.log((double) maxDistance / maxExact) * (float) (half - maxExact);
        long large = Math.min(maxExact + (long) scaled, half - 1);
        return bucket + large;
    }
}
