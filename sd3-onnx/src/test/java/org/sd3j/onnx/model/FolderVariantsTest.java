package org.sd3j.onnx.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.GenerationResult;
import org.sd3j.ModelLoadException;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.model.BoundDenoiser;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.Value;
import org.sd3j.onnx.mmdit.OnnxDenoiser;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.tensor.Tensor;

/**
 * ONNX folders as other exporters write them: float16 I/O, other input and output names, int32 token ids,
 * scheduler and transformer configs; and what is not an SD3 folder, named as such.
 */
class FolderVariantsTest {
    @TempDir
    Path dir;

    /**
     * A stand-in transformer with float16 I/O and the names of other exporters: {@code sample}, {@code timestep}
     * (float32), {@code encoder_hidden_states}, {@code pooled_projections} -> {@code out_sample}
     * {@code = 0.5 * sample + mean(context) + timestep / 1000}.
     */
    static void writeHalfTransformer(Path modelFile, int contextDim, int pooledDim) throws Exception {
        GraphBuilder g = new GraphBuilder("half_transformer");
        Value sample = g.input("sample", ElementType.FLOAT16, Dim.symbol("B"), Dim.of(16), Dim.symbol("h"),
                Dim.symbol("w"));
        Value t = g.input("timestep", ElementType.FLOAT, Dim.symbol("B"));
        Value ctx = g.input("encoder_hidden_states", ElementType.FLOAT16, Dim.symbol("B"), Dim.symbol("S"),
                Dim.of(contextDim));
        Value pooled = g.input("pooled_projections", ElementType.FLOAT16, Dim.symbol("B"), Dim.of(pooledDim));
        Value x = g.mul(g.cast(sample, ElementType.FLOAT), g.scalar(0.5f));
        Value mean = g.reduceMean(g.cast(ctx, ElementType.FLOAT), true, 1, 2); // [B, 1, 1]
        Value p = g.reduceMean(g.cast(pooled, ElementType.FLOAT), true, 1); // [B, 1]
        Value bias = g.add(g.unsqueeze(mean, 3), g.unsqueeze(g.mul(p, g.scalar(0f)), 2, 3)); // [B, 1, 1, 1]
        Value time = g.unsqueeze(g.div(t, g.scalar(1000f)), 1, 2, 3);
        g.output(g.cast(g.add(g.add(x, bias), time), ElementType.FLOAT16), "out_sample");
        Files.createDirectories(modelFile.getParent());
        g.build().save(modelFile);
    }

    @Test
    void aHalfPrecisionExportWithOtherNamesRunsBoundAndUnbound() throws Exception {
        Path file = dir.resolve("transformer").resolve("model.onnx");
        writeHalfTransformer(file, 8, 4);
        try (OnnxDenoiser d = OnnxDenoiser.load(file, OnnxOptions.cpu())) {
            Tensor latents = Tensor.zeros(2, 16, 4, 4);
            for (int i = 0; i < latents.size(); i++) {
                latents.set(i, (i % 13) / 4f);
            }
            Tensor t = Tensor.of(new float[] {500, 250}, 2);
            Conditioning c = new Conditioning(Tensor.full(0.25f, 2, 5, 8), Tensor.zeros(2, 4));
            Tensor expected = d.velocity(latents, t, c);
            assertThat(expected.get(1)).isEqualTo(0.5f * 0.25f + 0.25f + 0.5f);
            try (BoundDenoiser b = d.bind(c, Set.of())) {
                Tensor out = Tensor.zeros(2, 16, 4, 4);
                b.velocity(latents, t, out);
                assertThat(out.maxAbsDiff(expected)).isZero();
                // The same tensors with new contents: the float16 staging buffers are refilled on every call.
                latents.fill(2f);
                t.fill(0f);
                b.velocity(latents, t, out);
                assertThat(out.get(0)).isEqualTo(1.25f);
                assertThat(out.get(out.size() - 1)).isEqualTo(1.25f);
            }
            assertThatThrownBy(() -> d.bind(c, Set.of(1)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("skippedBlocks must be empty for an ONNX export");
        }
    }

    @Test
    void aModelThatIsNotATransformerListsTheExpectedAndFoundSignature() throws Exception {
        GraphBuilder g = new GraphBuilder("decoder");
        Value z = g.input("latent_sample", ElementType.FLOAT, Dim.symbol("B"), Dim.of(16), Dim.symbol("h"),
                Dim.symbol("w"));
        g.output(g.mul(z, g.scalar(2f)), "sample");
        Path file = dir.resolve("transformer").resolve("model.onnx");
        Files.createDirectories(file.getParent());
        g.build().save(file);
        assertThatThrownBy(() -> OnnxDenoiser.load(file, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("not an SD3 transformer: expected inputs [hidden_states [B, 16, h, w], "
                        + "timestep [B], encoder_hidden_states [B, S, D], pooled_projections [B, P]] and output "
                        + "out_hidden_states [B, 16, h, w]")
                .hasMessageContaining("the model has inputs [latent_sample FLOAT[-1, 16, -1, -1]], "
                        + "outputs [sample FLOAT[-1, 16, -1, -1]]");
    }

    /** A T5-role export with int32 ids: last_hidden_state[b, s, :] = id * (1, 2, ..., 8) / 100. */
    static void writeInt32Encoder(Path modelFile) throws Exception {
        GraphBuilder g = new GraphBuilder("t5_int32");
        Value ids = g.input("input_ids", ElementType.INT32, Dim.symbol("B"), Dim.symbol("S"));
        float[] ramp = new float[8];
        for (int i = 0; i < 8; i++) {
            ramp[i] = (i + 1) / 100f;
        }
        Value f = g.unsqueeze(g.cast(ids, ElementType.FLOAT), 2);
        g.output(g.mul(f, g.constant(ramp, 8)), "last_hidden_state");
        Files.createDirectories(modelFile.getParent());
        g.build().save(modelFile);
    }

    @Test
    void anInt32TokenIdExportEncodesAndTheFolderConfigsSetShiftAndSize() throws Exception {
        Path root = dir.resolve("model");
        writeHalfTransformer(root.resolve("transformer").resolve("model.onnx"), 8, 4);
        writeInt32Encoder(root.resolve("text_encoder_3").resolve("model.onnx"));
        Files.createDirectories(root.resolve("scheduler"));
        Files.writeString(root.resolve("scheduler").resolve("scheduler_config.json"),
                "{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\", \"shift\": 2.0}");
        Files.writeString(root.resolve("transformer").resolve("config.json"), "{\"sample_size\": 4}");
        Sd3Model.Options o = Sd3Model.Options.defaults().withTokenizer(EncoderRole.T5, p -> new long[] {7, 300, 1});
        try (Sd3Model m = Sd3Model.load(root, OnnxOptions.cpu(), o)) {
            assertThat(m.shift()).isEqualTo(2.0);
            assertThat(m.schedulerConfig().sampleSize()).hasValue(4);
            EncodedText e = m.encoder(EncoderRole.T5).orElseThrow().encode(java.util.List.of("x"));
            assertThat(e.tokens().shape()).containsExactly(1, 3, 8);
            assertThat(e.tokens().get(8 + 7)).isEqualTo(300 * 0.08f);
            GenerationResult r = m.pipelineBuilder().steps(2).seed(3).build().generate("a fox");
            assertThat(r.latents().shape()).containsExactly(1, 16, 4, 4); // 32x32 pixels: sample_size 4
            assertThat(r.latents().allFinite()).isTrue();
        }
    }

    @Test
    void malformedFolderConfigsNameTheFile() throws Exception {
        Path root = dir.resolve("bad");
        writeHalfTransformer(root.resolve("transformer").resolve("model.onnx"), 8, 4);
        Path scheduler = root.resolve("scheduler").resolve("scheduler_config.json");
        Files.createDirectories(scheduler.getParent());
        Files.writeString(scheduler, "{\"shift\": \"three\"}");
        assertThatThrownBy(() -> Sd3Model.load(root, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(scheduler.toString())
                .hasMessageContaining("\"shift\" must be a number, found \"three\"");
        Files.writeString(scheduler, "{\"shift\": 3.0}");
        Path config = root.resolve("transformer").resolve("config.json");
        Files.writeString(config, "{\"sample_size\": 4.5}");
        assertThatThrownBy(() -> Sd3Model.load(root, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(config.toString())
                .hasMessageContaining("\"sample_size\" must be a positive integer, found 4.5");
    }

    @Test
    void aVaeDecoderWithoutAnImageOutputIsNamedAsSuch() throws Exception {
        Path root = dir.resolve("vae-bad");
        writeHalfTransformer(root.resolve("transformer").resolve("model.onnx"), 8, 4);
        GraphBuilder g = new GraphBuilder("not_a_decoder");
        Value a = g.input("a", ElementType.FLOAT, Dim.of(1), Dim.of(16), Dim.of(2), Dim.of(2));
        Value b = g.input("b", ElementType.FLOAT, Dim.of(1), Dim.of(16), Dim.of(2), Dim.of(2));
        g.output(g.add(a, b), "c");
        Path dec = root.resolve("vae_decoder").resolve("model.onnx");
        Files.createDirectories(dec.getParent());
        g.build().save(dec);
        assertThatThrownBy(() -> Sd3Model.load(root, OnnxOptions.cpu()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(dec.toString())
                .hasMessageContaining("not a vae_decoder: expected latent_sample [B, 16, h, w] -> sample [B, 3, H, W]")
                .hasMessageContaining("the model has inputs [a FLOAT[1, 16, 2, 2], b FLOAT[1, 16, 2, 2]]");
    }
}
