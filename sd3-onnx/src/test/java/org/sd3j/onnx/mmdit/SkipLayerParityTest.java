package org.sd3j.onnx.mmdit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/**
 * Skip-layer guidance against an independent transcription of Stability's reference forward with
 * {@code skip_layers=[N]} (joint block N bypassed entirely; {@code src/test/python/make_mmditx_golden.py}, which
 * first reproduces the reference's own golden outputs to 5e-15 in float64). Golden: {@code <model>/skip.safetensors}
 * holds the sq8x8 inputs and {@code out_skipN} in float64 (float64 timestep embedding, like
 * {@code out_f64_temb64}); our float32 run must be within 1e-4.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SkipLayerParityTest {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SkipLayerParityTest.class);

    private final List<MmditDenoiser> open = new ArrayList<>();

    @AfterAll
    void closeAll() {
        open.forEach(MmditDenoiser::close);
    }

    private MmditDenoiser denoiser(String model) {
        MmditDenoiser d = MmditDenoiser.load(MmditParityTest.resource(model + "/weights.safetensors"),
                OnnxOptions.cpu());
        open.add(d);
        return d;
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String m : MmditParityTest.MODELS) {
            for (int skip = 0; skip < 2; skip++) {
                out.add(Arguments.of(m, skip));
            }
        }
        return out.stream();
    }

    static Tensor runSkipping(MmditDenoiser d, TensorSource c, Set<Integer> skipped) {
        return d.velocitySkipping(c.toFloatTensor("x"), c.toFloatTensor("t"),
                new Conditioning(c.toFloatTensor("context"), c.toFloatTensor("y")), skipped);
    }

    static double diff(Tensor out, TensorSource golden, String name, String label) {
        Tensor expected = golden.toFloatTensor(name);
        assertThat(out.shape()).containsExactly(expected.shape());
        double diff = out.maxAbsDiff(expected);
        LOG.info("{} vs {}: max abs diff {}", label, name, diff);
        return diff;
    }

    @ParameterizedTest(name = "{0} skip {1}")
    @MethodSource("cases")
    void skippingOneBlockMatchesReference(String model, int skip) {
        MmditDenoiser d = denoiser(model);
        try (TensorSource c = Safetensors.open(MmditParityTest.resource(model + "/skip.safetensors"))) {
            Tensor out = runSkipping(d, c, Set.of(skip));
            assertThat(diff(out, c, "out_skip" + skip, model + " skip " + skip)).isLessThan(MmditParityTest.TOLERANCE);
            // The skipped model really differs from the full one (the golden is not the plain forward).
            try (TensorSource full = Safetensors.open(MmditParityTest.resource(model + "/sq8x8.safetensors"))) {
                assertThat(out.maxAbsDiff(full.toFloatTensor("out_f64_temb64"))).isGreaterThan(0.1);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void skippingNothingIsTheNormalForward(String model) {
        MmditDenoiser d = denoiser(model);
        try (TensorSource c = Safetensors.open(MmditParityTest.resource(model + "/sq8x8.safetensors"))) {
            Tensor out = runSkipping(d, c, Set.of());
            assertThat(diff(out, c, "out_f64_temb64", model + " skip none")).isLessThan(MmditParityTest.TOLERANCE);
        }
    }

    static Stream<String> models() {
        return Stream.of(MmditParityTest.MODELS);
    }

    @Test
    void skippingIsPerCallAndLeavesTheNormalForwardIntact() {
        MmditDenoiser d = denoiser("d2_rms");
        try (TensorSource skip = Safetensors.open(MmditParityTest.resource("d2_rms/skip.safetensors"));
             TensorSource c = Safetensors.open(MmditParityTest.resource("d2_rms/sq8x8.safetensors"))) {
            assertThat(diff(runSkipping(d, skip, Set.of(1)), skip, "out_skip1", "d2_rms skip 1"))
                    .isLessThan(MmditParityTest.TOLERANCE);
            assertThat(diff(MmditParityTest.run(d, c), c, "out_f64_temb64", "d2_rms after skipping"))
                    .isLessThan(MmditParityTest.TOLERANCE);
            assertThat(diff(runSkipping(d, skip, Set.of(0)), skip, "out_skip0", "d2_rms skip 0"))
                    .isLessThan(MmditParityTest.TOLERANCE);
        }
    }

    @Test
    void rejectsBlocksOutsideTheModel() {
        MmditDenoiser d = denoiser("d2_plain");
        assertThat(d.blockCount()).isEqualTo(2);
        try (TensorSource c = Safetensors.open(MmditParityTest.resource("d2_plain/skip.safetensors"))) {
            assertThatThrownBy(() -> runSkipping(d, c, Set.of(2))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("skippedBlocks");
            assertThatThrownBy(() -> runSkipping(d, c, Set.of(-1))).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
