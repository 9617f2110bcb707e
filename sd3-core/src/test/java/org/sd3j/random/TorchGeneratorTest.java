package org.sd3j.random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Checks {@link TorchGenerator} against {@code torch.randn} values recorded with PyTorch 1.13.1 by
 * {@code src/test/python/make_torch_randn_golden.py} (see that script for the file format).
 */
class TorchGeneratorTest {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TorchGeneratorTest.class);


    private static final String INDEX = "/torch/randn_golden.txt";
    private static final String VALUES = "/torch/randn_golden.bin";

    /** Tolerance for the vectorized (>= 16 elements) path against torch's AVX2 kernel. */
    private static final double VECTOR_TOLERANCE = 1e-6;
    /**
     * Tolerance against torch's generic (non-AVX2) kernel, which itself differs from torch's AVX2 kernel by up to
     * about 2.3e-6 (libm float log/sin/cos vs. Cephes polynomials).
     */
    private static final double GENERIC_KERNEL_TOLERANCE = 5e-6;

    private static List<GoldenCase> cases;
    private static float[] golden;

    /** One line of the index. */
    record GoldenCase(String name, String kernel, long seed, int[] sizes, int stride, int offset, int count) {
        @Override
        public String toString() {
            String sz = Arrays.toString(sizes);
            if (sz.length() > 40) {
                sz = sz.substring(0, 37) + "...";
            }
            return name + " " + kernel + " seed=" + seed + " sizes=" + sz + (stride > 1 ? " stride=" + stride : "");
        }

        int total() {
            return Arrays.stream(sizes).sum();
        }

        /** Indices (into the concatenated output of all calls) of the stored values, in storage order. */
        int[] selectedIndices() {
            int total = total();
            int[] idx = java.util.stream.IntStream.range(0, total)
                    .filter(i -> i % stride == 0 || (stride > 1 && i >= total - 16))
                    .toArray();
            if (idx.length != count) {
                throw new IllegalStateException(this + ": expected " + count + " stored values, computed "
                        + idx.length);
            }
            return idx;
        }

        /** For each index of the concatenated output, whether the value came from the vectorized path. */
        boolean[] vectorPath() {
            boolean[] v = new boolean[total()];
            int pos = 0;
            for (int size : sizes) {
                Arrays.fill(v, pos, pos + size, size >= 16);
                pos += size;
            }
            return v;
        }

        /** Runs the calls of this case on a fresh generator; returns the concatenated output. */
        float[] runJava() {
            TorchGenerator gen = new TorchGenerator(seed);
            float[] out = new float[total()];
            int pos = 0;
            for (int size : sizes) {
                gen.fillNormal(out, pos, size);
                pos += size;
            }
            return out;
        }
    }

    @BeforeAll
    static synchronized void loadGoldens() {
        if (cases != null) {
            return;
        }
        List<GoldenCase> list = new ArrayList<>();
        try (InputStream in = TorchGeneratorTest.class.getResourceAsStream(INDEX)) {
            assertThat(in).as(INDEX + " on the test classpath").isNotNull();
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                line = line.strip();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split("\\s+");
                int[] sizes = Arrays.stream(f[3].split(",")).mapToInt(Integer::parseInt).toArray();
                list.add(new GoldenCase(f[0], f[1], Long.parseLong(f[2]), sizes, Integer.parseInt(f[4]),
                        Integer.parseInt(f[5]), Integer.parseInt(f[6])));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] bytes;
        try (InputStream in = TorchGeneratorTest.class.getResourceAsStream(VALUES)) {
            assertThat(in).as(VALUES + " on the test classpath").isNotNull();
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        FloatBuffer fb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] values = new float[fb.remaining()];
        fb.get(values);
        GoldenCase last = list.get(list.size() - 1);
        assertThat(values.length).isEqualTo(last.offset() + last.count());
        cases = list;
        golden = values;
    }

    static Stream<GoldenCase> avx2Cases() {
        loadGoldens();
        return cases.stream().filter(c -> c.kernel().equals("avx2"));
    }

    static Stream<GoldenCase> genericKernelCases() {
        loadGoldens();
        return cases.stream().filter(c -> c.kernel().equals("default"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("avx2Cases")
    void matchesTorchRandn(GoldenCase c) {
        float[] actual = c.runJava();
        boolean[] vector = c.vectorPath();
        int[] idx = c.selectedIndices();
        for (int k = 0; k < idx.length; k++) {
            int i = idx[k];
            float expected = golden[c.offset() + k];
            if (vector[i]) {
                if (Math.abs((double) actual[i] - expected) > VECTOR_TOLERANCE) {
                    fail("%s: value %d: expected %s (torch), found %s (diff %s)", c, i, expected, actual[i],
                            Math.abs((double) actual[i] - expected));
                }
            } else if (Float.floatToIntBits(actual[i]) != Float.floatToIntBits(expected)) {
                fail("%s: scalar-path value %d: expected bits %08x (%s), found %08x (%s)", c, i,
                        Float.floatToIntBits(expected), expected, Float.floatToIntBits(actual[i]), actual[i]);
            }
        }
    }

    /**
     * Stronger than {@link #matchesTorchRandn}: the port of torch's AVX2 Box-Muller kernel reproduces it bit for bit.
     */
    @Test
    void reproducesTorchAvx2KernelBitForBit() {
        long scalarValues = 0;
        long scalarExact = 0;
        long vectorValues = 0;
        long vectorExact = 0;
        double maxDiff = 0;
        List<String> mismatches = new ArrayList<>();
        for (GoldenCase c : avx2Cases().toList()) {
            float[] actual = c.runJava();
            boolean[] vector = c.vectorPath();
            int[] idx = c.selectedIndices();
            for (int k = 0; k < idx.length; k++) {
                int i = idx[k];
                float expected = golden[c.offset() + k];
                boolean exact = Float.floatToIntBits(actual[i]) == Float.floatToIntBits(expected);
                maxDiff = Math.max(maxDiff, Math.abs((double) actual[i] - expected));
                if (vector[i]) {
                    vectorValues++;
                    vectorExact += exact ? 1 : 0;
                } else {
                    scalarValues++;
                    scalarExact += exact ? 1 : 0;
                }
                if (!exact && mismatches.size() < 10) {
                    mismatches.add(c + " [" + i + "]: torch " + expected + ", java " + actual[i]);
                }
            }
        }
        LOG.info("TorchGenerator vs torch 1.13.1 (AVX2 kernel): scalar path {}/{} bit-exact, "
                        + "vectorized path {}/{} bit-exact, max abs diff {}",
                scalarExact, scalarValues, vectorExact, vectorValues, maxDiff);
        assertThat(scalarValues).isPositive();
        assertThat(vectorValues).isPositive();
        assertThat(mismatches).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("genericKernelCases")
    void staysCloseToTorchGenericKernel(GoldenCase c) {
        float[] actual = c.runJava();
        int[] idx = c.selectedIndices();
        double maxDiff = 0;
        for (int k = 0; k < idx.length; k++) {
            maxDiff = Math.max(maxDiff, Math.abs((double) actual[idx[k]] - golden[c.offset() + k]));
        }
        LOG.info("TorchGenerator vs torch generic (non-AVX2) kernel, {}: max abs diff {}", c, maxDiff);
        assertThat(maxDiff).isLessThanOrEqualTo(GENERIC_KERNEL_TOLERANCE);
    }

    @Test
    void goldenCoversBothPathsAndSeveralSeeds() {
        assertThat(cases.stream().filter(c -> c.kernel().equals("avx2")).map(GoldenCase::seed).distinct())
                .contains(0L, 1L, 42L, (1L << 32) + 5, 12345678901L, -1L);
        assertThat(cases.stream().flatMapToInt(c -> Arrays.stream(c.sizes())).distinct().toArray())
                .contains(1, 2, 3, 7, 15, 16, 17, 31, 100, 1000, 1024);
    }

    @Test
    void fillUniformMatchesTorchUniformBitForBit() {
        // torch.manual_seed(3); torch.empty(6).uniform_(-0.25, 0.25)  (PyTorch 1.13.1, float.hex() of each value)
        float[] a = new float[6];
        new TorchGenerator(3).fillUniform(a, 0, 6, -0.25f, 0.25f);
        assertThat(a).containsExactly(-0x1.fba258p-3f, -0x1.93e5ap-3f, -0x1.b69838p-4f, -0x1.e465f4p-3f,
                -0x1.d112p-7f, -0x1.c270ep-3f);
        // torch.manual_seed(3); torch.randn(20); torch.empty(4).uniform_(-1, 2): one stream for both kinds
        TorchGenerator g = new TorchGenerator(3);
        g.fillNormal(new float[20], 0, 20);
        float[] b = new float[6];
        g.fillUniform(b, 1, 4, -1f, 2f);
        assertThat(b).containsExactly(0f, 0x1.b1acfp-4f, -0x1.f95b9p-1f, -0x1.9e45bp-3f, 0x1.0ec646p-1f, 0f);
    }

    @Test
    void fillUniformChecksItsArguments() {
        TorchGenerator g = new TorchGenerator(1);
        assertThatThrownBy(() -> g.fillUniform(new float[2], 0, 2, 1f, 0f))
                .hasMessage("to must be finite and >= from (1.0), found 0.0");
        assertThatThrownBy(() -> g.fillUniform(new float[2], 1, 2, 0f, 1f))
                .hasMessageStartingWith("offset + count must be <= dst.length (2), found 3");
    }

    @Test
    void seedIsReducedToItsLow32Bits() {
        float[] a = new float[40];
        float[] b = new float[40];
        float[] c = new float[5];
        float[] d = new float[5];
        new TorchGenerator(5).fillNormal(a, 0, 40);
        new TorchGenerator((1L << 32) + 5).fillNormal(b, 0, 40);
        new TorchGenerator(5).fillNormal(c, 0, 5);
        new TorchGenerator((1L << 32) + 5).fillNormal(d, 0, 5);
        assertThat(b).isEqualTo(a);
        assertThat(d).isEqualTo(c);
        assertThat(new TorchGenerator((1L << 32) + 5).seed()).isEqualTo((1L << 32) + 5);
        assertThat(new TorchGenerator(-1).seed()).isEqualTo(-1L);
    }

    @Test
    void sameSeedGivesSameValues() {
        for (int n : new int[] {1, 7, 16, 33, 4096}) {
            float[] a = new float[n];
            float[] b = new float[n];
            TorchGenerator g1 = new TorchGenerator(2024);
            TorchGenerator g2 = new TorchGenerator(2024);
            g1.fillNormal(a, 0, n);
            g2.fillNormal(b, 0, n);
            assertThat(b).as("n=%d", n).isEqualTo(a);
            g1.fillNormal(a, 0, n);
            g2.fillNormal(b, 0, n);
            assertThat(b).as("second call, n=%d", n).isEqualTo(a);
        }
        float[] x = new float[64];
        float[] y = new float[64];
        new TorchGenerator(1).fillNormal(x, 0, 64);
        new TorchGenerator(2).fillNormal(y, 0, 64);
        assertThat(y).isNotEqualTo(x);
    }

    @Test
    void writesOnlyTheRequestedRangeAndCountZeroConsumesNothing() {
        float[] dst = new float[30];
        Arrays.fill(dst, 7f);
        TorchGenerator g = new TorchGenerator(3);
        g.fillNormal(dst, 5, 0);
        g.fillNormal(dst, 30, 0);
        g.fillNormal(dst, 5, 20);
        float[] expected = new float[20];
        new TorchGenerator(3).fillNormal(expected, 0, 20);
        assertThat(Arrays.copyOfRange(dst, 5, 25)).isEqualTo(expected);
        for (int i : new int[] {0, 1, 2, 3, 4, 25, 26, 27, 28, 29}) {
            assertThat(dst[i]).as("dst[%d]", i).isEqualTo(7f);
        }
    }

    @Test
    void floatBufferFillMatchesArrayAndKeepsPositionAndLimit() {
        float[] expected = new float[100];
        TorchGenerator ref = new TorchGenerator(42);
        ref.fillNormal(expected, 0, 3);
        ref.fillNormal(expected, 3, 97);

        FloatBuffer heap = FloatBuffer.allocate(120);
        FloatBuffer direct = ByteBuffer.allocateDirect(120 * Float.BYTES).order(ByteOrder.nativeOrder())
                .asFloatBuffer();
        FloatBuffer slicedHeap = FloatBuffer.allocate(130).position(10).slice(); // non-zero arrayOffset
        for (FloatBuffer buf : List.of(heap, direct, slicedHeap)) {
            buf.limit(110).position(50).mark();
            TorchGenerator g = new TorchGenerator(42);
            g.fillNormal(buf, 10, 3);
            g.fillNormal(buf, 13, 97);
            assertThat(buf.position()).isEqualTo(50);
            assertThat(buf.limit()).isEqualTo(110);
            buf.position(60).reset();
            assertThat(buf.position()).as("mark kept").isEqualTo(50);
            float[] got = new float[100];
            buf.get(10, got);
            assertThat(got).isEqualTo(expected);
            assertThat(buf.get(9)).isZero();
        }
    }

    @Test
    void rejectsInvalidArguments() {
        TorchGenerator g = new TorchGenerator(0);
        float[] arr = new float[10];
        assertThatThrownBy(() -> g.fillNormal(arr, 0, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("count must be >= 0, found -1");
        assertThatThrownBy(() -> g.fillNormal(arr, -1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("offset must be >= 0, found -1");
        assertThatThrownBy(() -> g.fillNormal(arr, 11, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("offset must be <= dst.length (10), found 11");
        assertThatThrownBy(() -> g.fillNormal(arr, 4, 7))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("offset + count must be <= dst.length (10), found 11 (offset 4, count 7)");
        assertThatThrownBy(() -> g.fillNormal(arr, 1, Integer.MAX_VALUE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("offset + count must be <= dst.length (10), found 2147483648");
        assertThatThrownBy(() -> g.fillNormal((float[]) null, 0, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("dst must be non-null, found null");

        FloatBuffer buf = FloatBuffer.allocate(20).limit(10);
        assertThatThrownBy(() -> g.fillNormal(buf, 0, 11))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("offset + count must be <= dst.limit() (10), found 11 (offset 0, count 11)");
        assertThatThrownBy(() -> g.fillNormal(buf, 0, -3))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("count must be >= 0, found -3");
        assertThatThrownBy(() -> g.fillNormal(buf, 12, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("offset must be <= dst.limit() (10), found 12");
        assertThatThrownBy(() -> g.fillNormal(FloatBuffer.allocate(4).asReadOnlyBuffer(), 0, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("dst must be writable, found read-only buffer");
        assertThatThrownBy(() -> g.fillNormal((FloatBuffer) null, 0, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("dst must be non-null, found null");

        // failed calls leave the stream untouched
        float[] after = new float[20];
        g.fillNormal(after, 0, 20);
        float[] fresh = new float[20];
        new TorchGenerator(0).fillNormal(fresh, 0, 20);
        assertThat(after).isEqualTo(fresh);
    }
}
