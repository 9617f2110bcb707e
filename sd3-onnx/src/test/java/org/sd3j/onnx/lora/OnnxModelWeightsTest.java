package org.sd3j.onnx.lora;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.lora.LoraRequest;
import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.graph.Value;
import org.sd3j.onnx.graph.WeightData;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.tensor.Tensor;

/**
 * Mapping LoRA modules to the initializers of exports that are not sd3j's: torch's exporter stores a Linear as a
 * MatMul by an anonymous transposed initializer plus an Add of the named bias, others keep named [out, in] weights
 * under a prefix; a weight neither names is reported, not guessed.
 */
class OnnxModelWeightsTest {
    private static final String FC1 = "text_model.encoder.layers.0.mlp.fc1";
    private static final String FC2 = "text_model.encoder.layers.0.mlp.fc2";
    private static final String Q = "text_model.encoder.layers.0.self_attn.q_proj";
    private final SplittableRandom random = new SplittableRandom(1);

    private float[] values(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    private static WeightData data(float[] v, long... shape) {
        ByteBuffer b = ByteBuffer.allocateDirect(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return new WeightData(ElementType.FLOAT, shape, b);
    }

    /** x [2, 8] -> fc1 (MatMul by [8, 16] + bias) -> fc2 (Gemm by [8, 16], transB) + q (MatMul by [8, 8], no bias). */
    private static Path export(Path dir, String prefix, float[] w1t, float[] b1, float[] w2, float[] b2, float[] w3) {
        GraphBuilder g = new GraphBuilder("export");
        Value x = g.input("x", ElementType.FLOAT, Dim.of(2), Dim.of(8));
        Value h = g.add(g.matMul(x, g.weight("onnx::MatMul_7", data(w1t, 8, 16))),
                g.weight(prefix + FC1 + ".bias", data(b1, 16)));
        Value y = g.gemm(h, g.weight(prefix + FC2 + ".weight", data(w2, 8, 16)),
                g.weight(prefix + FC2 + ".bias", data(b2, 8)), true);
        Value z = g.matMul(x, g.weight("onnx::MatMul_9", data(w3, 8, 8)));
        g.output(g.add(y, z), "out");
        Path file = dir.resolve("model.onnx");
        g.build().save(file);
        return file;
    }

    @Test
    void transposedAndPrefixedWeightsMergeAndUnnamedOnesAreReported(@TempDir Path dir) throws Exception {
        float[] w1t = values(8 * 16);
        float[] b1 = values(16);
        float[] w2 = values(8 * 16);
        float[] b2 = values(8);
        float[] w3 = values(64);
        Path model = export(Files.createDirectories(dir.resolve("m")), "clip.", w1t, b1, w2, b2, w3);
        List<LoraFixtures.Adapter> adapters = LoraFixtures.random(Map.of(FC1 + ".weight", new long[] {16, 8},
                FC2 + ".weight", new long[] {8, 16}, Q + ".weight", new long[] {8, 8}), List.of(FC1, FC2, Q), 2, 1.0,
                0.5, 2);
        Path lora = LoraFixtures.writeClip(dir.resolve("l.safetensors"), LoraComponent.CLIP_L, adapters,
                LoraKeyStyle.KOHYA);

        OnnxModelWeights.Merge merge = OnnxModelWeights.merge(model, LoraComponent.CLIP_L,
                List.of(new LoraRequest(lora, 0.5)));

        assertThat(merge.initializers()).containsOnlyKeys("onnx::MatMul_7", "clip." + FC2 + ".weight");
        assertThat(merge.merged()).containsExactly(new MergedLora(lora, 0.5, LoraComponent.CLIP_L, 2, List.of(Q)));
        // The expected export: the same graph with W + 0.5 * (alpha / r) * B A written in by hand.
        float[] w1 = transpose(w1t, 8, 16);
        add(w1, adapters.get(0), 0.25);
        add(w2, adapters.get(1), 0.25);
        Path expected = export(Files.createDirectories(dir.resolve("e")), "clip.", transpose(w1, 16, 8), b1, w2, b2,
                w3);
        Tensor x = Tensor.of(values(16), 2, 8);
        try (GraphSession merged = GraphSession.load(model, OnnxOptions.cpu(), merge.initializers());
             GraphSession reference = GraphSession.load(expected, OnnxOptions.cpu())) {
            Tensor a = merged.run(Map.of("x", x)).get("out");
            Tensor b = reference.run(Map.of("x", x)).get("out");
            assertThat(a.maxAbsDiff(b)).isLessThan(1e-5);
        }
    }

    @Test
    void weightsEmbeddedInTheModelFileMergeLikeExternalOnes(@TempDir Path dir) throws Exception {
        Path external = export(Files.createDirectories(dir.resolve("x")), "", values(128), values(16), values(128),
                values(8), values(64));
        Path embedded = embed(external, Files.createDirectories(dir.resolve("y")).resolve("model.onnx"));
        Path lora = LoraFixtures.writeClip(dir.resolve("l.safetensors"), LoraComponent.CLIP_L,
                LoraFixtures.random(Map.of(FC1 + ".weight", new long[] {16, 8}, FC2 + ".weight", new long[] {8, 16}),
                        List.of(FC1, FC2), 2, 2.0, 0.5, 3), LoraKeyStyle.ORIGINAL);
        List<LoraRequest> loras = List.of(new LoraRequest(lora, 1));

        Map<String, WeightData> a = OnnxModelWeights.merge(external, LoraComponent.CLIP_L, loras).initializers();
        Map<String, WeightData> b = OnnxModelWeights.merge(embedded, LoraComponent.CLIP_L, loras).initializers();

        assertThat(b).containsOnlyKeys(a.keySet());
        for (String name : a.keySet()) {
            assertThat(b.get(name).data()).as(name).isEqualTo(a.get(name).data());
        }
    }

    /** {@code model} rewritten with every initializer's bytes in the model file itself (raw_data). */
    private static Path embed(Path model, Path out) throws Exception {
        ai.onnx.proto.OnnxMl.ModelProto m = ai.onnx.proto.OnnxMl.ModelProto.parseFrom(Files.readAllBytes(model));
        byte[] data = Files.readAllBytes(model.resolveSibling("model.onnx_data"));
        ai.onnx.proto.OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            ai.onnx.proto.OnnxMl.TensorProto t = g.getInitializer(i);
            if (t.getExternalDataCount() == 0) {
                continue;
            }
            Map<String, String> e = new java.util.HashMap<>();
            t.getExternalDataList().forEach(kv -> e.put(kv.getKey(), kv.getValue()));
            int offset = Integer.parseInt(e.get("offset"));
            int length = Integer.parseInt(e.get("length"));
            g.setInitializer(i, t.toBuilder().clearExternalData()
                    .setDataLocation(ai.onnx.proto.OnnxMl.TensorProto.DataLocation.DEFAULT)
                    .setRawData(com.google.protobuf.ByteString.copyFrom(data, offset, length)).build());
        }
        Files.write(out, m.toBuilder().setGraph(g).build().toByteArray());
        return out;
    }

    @Test
    void fusedQkvAdaptersSpreadOverSeparateProjectionsAndAdaLnHalvesSwap(@TempDir Path dir) {
        GraphBuilder g = new GraphBuilder("mmdit");
        Value x = g.input("x", ElementType.FLOAT, Dim.of(1), Dim.of(4));
        Value sum = null;
        for (String p : List.of("q", "k", "v")) {
            Value y = g.add(g.matMul(x, g.weight("onnx::MatMul_" + p, data(values(16), 4, 4))),
                    g.weight("transformer_blocks.0.attn.to_" + p + ".bias", data(values(4), 4)));
            sum = sum == null ? y : g.add(sum, y);
        }
        Value ada = g.gemm(x, g.weight("norm_out.linear.weight", data(values(32), 8, 4)), null, true);
        g.output(sum, "out");
        g.output(ada, "ada");
        Path file = dir.resolve("model.onnx");
        g.build().save(file);
        OnnxModelWeights w = OnnxModelWeights.read(file);

        List<StoredLinear> qkv = w.mmdit().locate(new LoraModule(LoraComponent.MMDIT, "m", "a", "b", null,
                "joint_blocks.0.x_block.attn.qkv", MmditModules.Part.WHOLE));
        List<StoredLinear> norm = w.mmdit().locate(new LoraModule(LoraComponent.MMDIT, "m", "a", "b", null,
                "final_layer.adaLN_modulation.1", MmditModules.Part.WHOLE));
        List<StoredLinear> missing = w.mmdit().locate(new LoraModule(LoraComponent.MMDIT, "m", "a", "b", null,
                "joint_blocks.0.x_block.attn.proj", MmditModules.Part.WHOLE));

        assertThat(qkv).containsExactly(new StoredLinear("onnx::MatMul_q", 0, 0, 4, 4, 4, true, false),
                new StoredLinear("onnx::MatMul_k", 4, 0, 4, 4, 4, true, false),
                new StoredLinear("onnx::MatMul_v", 8, 0, 4, 4, 4, true, false));
        assertThat(norm).containsExactly(new StoredLinear("norm_out.linear.weight", 0, 0, 8, 8, 4, false, true));
        assertThat(missing).isEmpty();
    }

    private static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = m[r * cols + c];
            }
        }
        return t;
    }

    /** {@code w += scale * B A} for an [out, in] weight, in double. */
    private static void add(float[] w, LoraFixtures.Adapter a, double scale) {
        int out = a.b().dim(0);
        int r = a.a().dim(0);
        int in = a.a().dim(1);
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double d = 0;
                for (int k = 0; k < r; k++) {
                    d += a.b().get(o * r + k) * (double) a.a().get(k * in + i);
                }
                w[o * in + i] = (float) (w[o * in + i] + scale * d);
            }
        }
    }
}
