package org.sd3j.onnx.mmdit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorInfo;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/**
 * MMDiT-X (SD3.5 Medium's extra image self-attention {@code x_block.attn2}, 9-chunk adaLN) against an independent
 * transcription of Stability's reference forward ({@code src/test/python/make_mmditx_golden.py}, which first
 * reproduces the reference's own golden outputs to 5e-15 in float64).
 *
 * <p>The model is d2_rms (depth 2, hidden 128, 2 heads, QK RMS-norm) with {@code x_block_self_attn_layers = [0]},
 * the SD3.5 Medium pattern (early blocks with attn2, the last without). To keep the repository small only the
 * tensors that differ from d2_rms are stored ({@code dx_mmditx/weights_delta.safetensors}: block 0's
 * {@code x_block.attn2.*} and its 9-chunk {@code adaLN_modulation.1}); the test assembles the checkpoint. Case:
 * B=2, latent 8x10, text length 7, t = [900, 300]; float32 runs vs the float64 reference at 1e-4.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MmditxParityTest {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(MmditxParityTest.class);
    static final String CASE = "dx_mmditx/case.safetensors";

    private Path checkpoint;
    private final List<MmditDenoiser> open = new ArrayList<>();

    /** d2_rms's weights with the MMDiT-X tensors added or replaced, as one original-layout checkpoint. */
    static Path assemble(Path out) {
        Path file = out.resolve("dx_mmditx.safetensors");
        try (TensorSource base = Safetensors.open(MmditParityTest.resource("d2_rms/weights.safetensors"));
             TensorSource delta = Safetensors.open(MmditParityTest.resource("dx_mmditx/weights_delta.safetensors"))) {
            SafetensorsWriter w = SafetensorsWriter.create();
            for (String name : base.names()) {
                TensorSource from = delta.contains(name) ? delta : base;
                TensorInfo info = from.info(name);
                w.add(name, info.dtype(), info.shape(), from.bytes(name));
            }
            for (String name : delta.names()) {
                if (!base.contains(name)) {
                    TensorInfo info = delta.info(name);
                    w.add(name, info.dtype(), info.shape(), delta.bytes(name));
                }
            }
            w.write(file);
        }
        return file;
    }

    @BeforeAll
    void assembleCheckpoint(@TempDir Path dir) {
        checkpoint = assemble(dir);
    }

    @AfterAll
    void closeAll() {
        open.forEach(MmditDenoiser::close);
    }

    private MmditDenoiser denoiser(MmditGraph.Attention attention) {
        MmditDenoiser d = MmditDenoiser.load(checkpoint, OnnxOptions.cpu(), attention);
        open.add(d);
        return d;
    }

    private MmditDenoiser denoiser() {
        MmditDenoiser d = MmditDenoiser.load(checkpoint, OnnxOptions.cpu());
        open.add(d);
        return d;
    }

    static double diff(Tensor out, TensorSource golden, String name, String label) {
        Tensor expected = golden.toFloatTensor(name);
        assertThat(out.shape()).containsExactly(expected.shape());
        double diff = out.maxAbsDiff(expected);
        LOG.info("dx_mmditx {} vs {}: max abs diff {}", label, name, diff);
        return diff;
    }

    @Test
    void infersTheMmditxConfiguration() {
        MmditConfig c = denoiser().config();
        assertThat(c.depth()).isEqualTo(2);
        assertThat(c.hiddenSize()).isEqualTo(128);
        assertThat(c.heads()).isEqualTo(2);
        assertThat(c.qkNorm()).isTrue();
        assertThat(c.selfAttentionLayers()).containsExactly(0);
        assertThat(c.variant()).contains("MMDiT-X");
    }

    @Test
    void checkpointRouteMatchesReference() {
        try (TensorSource c = Safetensors.open(MmditParityTest.resource(CASE))) {
            Tensor out = MmditParityTest.run(denoiser(), c);
            assertThat(diff(out, c, "out_f64_temb64", "checkpoint route")).isLessThan(MmditParityTest.TOLERANCE);
            assertThat(diff(out, c, "out", "checkpoint route (f32 reference)")).isLessThan(MmditParityTest.TOLERANCE);
        }
    }

    @Test
    void fusedAttentionMatchesReference() {
        try (TensorSource c = Safetensors.open(MmditParityTest.resource(CASE))) {
            Tensor out = MmditParityTest.run(denoiser(MmditGraph.Attention.FUSED), c);
            assertThat(diff(out, c, "out_f64_temb64", "fused attention")).isLessThan(MmditParityTest.TOLERANCE);
            LOG.info("dx_mmditx fused vs primitive attention: max abs diff {}",
                    out.maxAbsDiff(MmditParityTest.run(denoiser(), c)));
        }
    }

    @ParameterizedTest(name = "skip {0}")
    @ValueSource(ints = {0, 1})
    void skippingABlockMatchesReference(int skip) {
        MmditDenoiser d = denoiser();
        try (TensorSource c = Safetensors.open(MmditParityTest.resource(CASE))) {
            Tensor out = SkipLayerParityTest.runSkipping(d, c, Set.of(skip));
            assertThat(diff(out, c, "out_skip" + skip, "skip " + skip)).isLessThan(MmditParityTest.TOLERANCE);
            assertThat(out.maxAbsDiff(c.toFloatTensor("out_f64_temb64"))).isGreaterThan(0.1);
        }
    }

    @Test
    void savedModelOnnxRouteMatchesReference(@TempDir Path onnxDir) {
        Path onnx = onnxDir.resolve("model.onnx");
        denoiser().graph().save(onnx);
        try (GraphSession s = GraphSession.load(onnx, OnnxOptions.cpu());
             TensorSource c = Safetensors.open(MmditParityTest.resource(CASE))) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put(MmditGraph.LATENTS, c.toFloatTensor("x"));
            in.put(MmditGraph.TIMESTEP, c.toFloatTensor("t"));
            in.put(MmditGraph.CONTEXT, c.toFloatTensor("context"));
            in.put(MmditGraph.POOLED, c.toFloatTensor("y"));
            Tensor out = s.run(in).get(MmditGraph.OUTPUT);
            assertThat(diff(out, c, "out_f64_temb64", "model.onnx route")).isLessThan(MmditParityTest.TOLERANCE);
        }
    }
}
