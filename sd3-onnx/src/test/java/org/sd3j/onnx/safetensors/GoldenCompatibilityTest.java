package org.sd3j.onnx.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.tensor.Tensor;

/**
 * Files written by another writer: {@code golden_d2_plain_odd6x10.safetensors} is a copy of the shared golden
 * {@code mmdit/d2_plain/odd6x10.safetensors}, written by the reference harness (tensors in name order, F32 and F64
 * mixed, metadata). Expected values were read from it with numpy.
 */
class GoldenCompatibilityTest {
    @TempDir
    Path dir;

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(GoldenCompatibilityTest.class.getResource("/safetensors/" + name).toURI());
    }

    @Test
    void readsTheGoldenMmditCase() throws Exception {
        try (TensorSource s = Safetensors.open(resource("golden_d2_plain_odd6x10.safetensors"))) {
            assertThat(s.metadata()).containsExactly(Map.entry("model", "d2_plain"), Map.entry("case", "odd6x10"),
                    Map.entry("input_seed", "13"));
            assertThat(s.names()).containsExactly("context", "out", "out_f64", "out_f64_temb64", "t", "t_freq", "x", "y");
            assertThat(s.info("context")).isEqualTo(new TensorInfo("context", DType.F32, new long[] {1, 5, 96}, 0, 1920));
            assertThat(s.info("out_f64")).isEqualTo(
                    new TensorInfo("out_f64", DType.F64, new long[] {1, 16, 6, 10}, 5760, 13440));

            assertThat(s.toFloatTensor("t").toArray()).containsExactly(500f);
            Tensor x = s.toFloatTensor("x");
            assertThat(x.shape()).containsExactly(1, 16, 6, 10);
            assertThat(x.get(0)).isEqualTo(-0.712390661239624f);
            assertThat(x.get(x.size() - 1)).isEqualTo(-1.3001816272735596f);
            assertThat(sum(x)).isCloseTo(-15.054488670895807, within(1e-9));
            assertThat(sum(s.toFloatTensor("context"))).isCloseTo(13.259733696235344, within(1e-9));

            ByteBuffer f64 = s.bytes("out_f64");
            assertThat(f64.getDouble(0)).isEqualTo(0.8354404244532898);
            double total = 0;
            for (int i = 0; i < 960; i++) {
                total += f64.getDouble(i * 8);
            }
            assertThat(total).isCloseTo(-164.90663639054668, within(1e-9));
            // float32 run vs float64 reference of the same forward: close, as the golden data promise
            assertThat(s.toFloatTensor("out").maxAbsDiff(s.toFloatTensor("out_f64"))).isLessThan(2e-6);
        }
    }

    @Test
    void rewritingKeepsEveryTensorAndTheMetadata() throws Exception {
        Path out = dir.resolve("rewritten.safetensors");
        try (TensorSource s = Safetensors.open(resource("golden_d2_plain_odd6x10.safetensors"))) {
            SafetensorsWriter w = SafetensorsWriter.create();
            s.metadata().forEach(w::metadata);
            for (String name : s.names()) {
                TensorInfo info = s.info(name);
                w.add(name, info.dtype(), info.shape(), s.bytes(name));
            }
            w.write(out);
            try (TensorSource r = Safetensors.open(out)) {
                assertThat(r.metadata()).isEqualTo(s.metadata());
                assertThat(r.names()).isEqualTo(s.names());
                for (String name : s.names()) {
                    assertThat(r.bytes(name)).isEqualTo(s.bytes(name));
                    assertThat(r.info(name).shape()).isEqualTo(s.info(name).shape());
                }
                // the reference writer's layout: F64 tensors first (8-byte alignment), then F32, each by name
                assertThat(r.info("out_f64").begin()).isZero();
                assertThat(r.info("out_f64_temb64").begin()).isEqualTo(7680);
                assertThat(r.info("context").begin()).isEqualTo(15360);
            }
        }
        assertThat(ByteBuffer.wrap(RawFiles.read(out)).order(ByteOrder.LITTLE_ENDIAN).getLong(0) % 8).isZero();
    }

    private static double sum(Tensor t) {
        double s = 0;
        for (int i = 0; i < t.size(); i++) {
            s += t.get(i);
        }
        return s;
    }
}
