package org.sd3j.onnx.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;
import org.sd3j.tensor.Tensor;

/** Writer -> reader round trips, the writer's layout against the Python package's, and the read-side conversions. */
class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    private static byte[] randomBytes(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    private static byte[] toArray(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    @Nested
    class RoundTrip {
        @Test
        void everyDtypeWithMetadata() {
            Random rnd = new Random(1);
            Map<String, byte[]> data = new LinkedHashMap<>();
            SafetensorsWriter w = SafetensorsWriter.create().metadata("format", "pt").metadata("note", "é \"quoted\"\n");
            for (DType t : DType.values()) {
                long[] shape = {2, 3};
                byte[] bytes = randomBytes(rnd, 6 * t.byteSize());
                data.put("t." + t, bytes);
                w.add("t." + t, t, shape, ByteBuffer.wrap(bytes));
            }
            Path f = dir.resolve("all.safetensors");
            w.write(f);
            try (TensorSource s = Safetensors.open(f)) {
                assertThat(s.metadata()).containsExactly(Map.entry("format", "pt"), Map.entry("note", "é \"quoted\"\n"));
                assertThat(new ArrayList<>(s.names())).hasSize(DType.values().length).isSorted();
                for (DType t : DType.values()) {
                    TensorInfo info = s.info("t." + t);
                    assertThat(info.dtype()).isEqualTo(t);
                    assertThat(info.shape()).containsExactly(2, 3);
                    assertThat(info.byteSize()).isEqualTo(6L * t.byteSize());
                    assertThat(info.begin() % t.byteSize()).as("aligned to the element size").isZero();
                    assertThat(toArray(s.bytes("t." + t))).isEqualTo(data.get("t." + t));
                    assertThat(s.pathOf("t." + t)).isEqualTo(f);
                }
            }
        }

        @Test
        void emptyFile() {
            Path f = dir.resolve("empty.safetensors");
            SafetensorsWriter.create().write(f);
            assertThat(RawFiles.read(f)).isEqualTo(RawFiles.bytes("{}      ", new byte[0]));
            try (TensorSource s = Safetensors.open(f)) {
                assertThat(s.names()).isEmpty();
                assertThat(s.metadata()).isEmpty();
            }
        }

        @Test
        void scalarAndZeroSizeTensors() {
            Path f = dir.resolve("odd.safetensors");
            SafetensorsWriter.create()
                    .add("scalar", new float[] {42.5f})
                    .add("empty", DType.F16, new long[] {0, 7}, ByteBuffer.allocate(0))
                    .add("empty2", DType.F32, new long[] {3, 0}, ByteBuffer.allocate(0))
                    .add("i64scalar", DType.I64, new long[0],
                            ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -5))
                    .write(f);
            try (TensorSource s = Safetensors.open(f)) {
                assertThat(s.info("scalar").shape()).isEmpty();
                assertThat(s.info("scalar").elementCount()).isEqualTo(1);
                Tensor scalar = s.toFloatTensor("scalar");
                assertThat(scalar.rank()).isZero();
                assertThat(scalar.get(0)).isEqualTo(42.5f);
                assertThat(s.toLongArray("i64scalar")).containsExactly(-5);
                assertThat(s.info("empty").elementCount()).isZero();
                assertThat(s.bytes("empty").remaining()).isZero();
                assertThat(s.toFloatTensor("empty").shape()).containsExactly(0, 7);
                assertThat(s.forInference("empty2").data().remaining()).isZero();
            }
        }

        @Test
        void tensorsAsF32F64F16AndBf16() {
            Tensor t = Tensor.of(new float[] {1f, -2.5f, 65504f, 1e-8f, 3.14159f, Float.NEGATIVE_INFINITY}, 2, 3);
            Path f = dir.resolve("t.safetensors");
            SafetensorsWriter.create()
                    .add("f32", t)
                    .addAs("f64", t, DType.F64)
                    .addAs("f16", t, DType.F16)
                    .addAs("bf16", t, DType.BF16)
                    .write(f);
            try (TensorSource s = Safetensors.open(f)) {
                assertThat(s.toFloatTensor("f32").toArray()).containsExactly(t.toArray());
                assertThat(s.toFloatTensor("f64").toArray()).containsExactly(t.toArray());
                float[] f16 = s.toFloatTensor("f16").toArray();
                float[] bf16 = s.toFloatTensor("bf16").toArray();
                for (int i = 0; i < t.size(); i++) {
                    assertThat(f16[i]).isEqualTo(Half.f16ToFloat(Half.floatToF16(t.get(i))));
                    assertThat(bf16[i]).isEqualTo(Half.bf16ToFloat(Half.floatToBf16(t.get(i))));
                }
                assertThat(f16[2]).isEqualTo(65504f);
                assertThat(s.info("f16").dtype()).isEqualTo(DType.F16);
                assertThat(s.toFloatTensor("f32").shape()).containsExactly(2, 3);
            }
        }

        @Test
        void addAsRejectsNonFloatDtypes() {
            assertThatThrownBy(() -> SafetensorsWriter.create().addAs("x", Tensor.zeros(2), DType.I8))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("dtype must be F32, F64, F16 or BF16, found I8");
        }

        @Test
        void tensorsAreReadWhenWritten() {
            Tensor t = Tensor.zeros(2);
            SafetensorsWriter w = SafetensorsWriter.create().add("t", t);
            t.set(1, 9f);
            Path f = dir.resolve("late.safetensors");
            w.write(f);
            try (TensorSource s = Safetensors.open(f)) {
                assertThat(s.toFloatTensor("t").toArray()).containsExactly(0f, 9f);
            }
        }

        @Test
        void largeTensorSpansSeveralWriteChunks() {
            int n = 700_000; // 2.8 MB as F32, more than the writer's 1 MiB chunk
            Tensor t = Tensor.zeros(n);
            for (int i = 0; i < n; i++) {
                t.set(i, i * 0.5f);
            }
            Path f = dir.resolve("big.safetensors");
            SafetensorsWriter.create().add("t", t).addAs("h", t, DType.BF16).write(f);
            try (TensorSource s = Safetensors.open(f)) {
                assertThat(s.toFloatTensor("t").maxAbsDiff(t)).isZero();
                Tensor h = s.toFloatTensor("h");
                assertThat(h.get(n - 1)).isEqualTo(Half.bf16ToFloat(Half.floatToBf16((n - 1) * 0.5f)));
            }
        }
    }

    @Nested
    class Writer {
        @Test
        void rejectsBadArguments() {
            SafetensorsWriter w = SafetensorsWriter.create().add("a", new float[] {1f}, 1);
            assertThatThrownBy(() -> w.add("a", new float[] {1f}, 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("name must be unique, found 'a' twice");
            assertThatThrownBy(() -> w.add("__metadata__", new float[] {1f}, 1))
                    .hasMessage("name must not be the reserved __metadata__, found __metadata__");
            assertThatThrownBy(() -> w.add(null, new float[] {1f}, 1)).hasMessage("name must be non-null, found null");
            assertThatThrownBy(() -> w.add("b", new float[] {1f, 2f}, 3))
                    .hasMessage("values must have 3 elements for shape [3], found 2");
            assertThatThrownBy(() -> w.add("c", DType.F32, new long[] {2, 2}, ByteBuffer.allocate(12)))
                    .hasMessage("littleEndianData must hold 16 bytes for F32 x [2, 2], found 12");
            assertThatThrownBy(() -> w.add("d", DType.F32, new long[] {-1}, ByteBuffer.allocate(0)))
                    .hasMessage("shape must have dimensions >= 0, found [-1]");
            assertThatThrownBy(() -> w.metadata("k", null)).hasMessage("value must be non-null, found null");
            assertThatThrownBy(() -> w.add("\ud800", new float[] {1f}, 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("name must be valid Unicode");
        }

        @Test
        void replacesAnExistingFileAtomicallyAndLeavesNoTemporaryFile() throws Exception {
            Path f = dir.resolve("m.safetensors");
            Files.writeString(f, "old content");
            SafetensorsWriter.create().add("x", new float[] {1f, 2f}, 2).write(f);
            try (Stream<Path> files = Files.list(dir)) {
                assertThat(files).containsExactly(f);
            }
            try (TensorSource s = Safetensors.open(f)) {
                assertThat(s.toFloatTensor("x").toArray()).containsExactly(1f, 2f);
            }
        }

        @Test
        void missingFoldersAreCreated() {
            Path f = dir.resolve("no/such/dir/m.safetensors");
            SafetensorsWriter.create().add("a", new float[] {1f}, 1).write(f);
            try (SafetensorsFile read = SafetensorsFile.open(f)) {
                assertThat(read.names()).containsExactly("a");
            }
        }

        @Test
        void unwritableTargetIsAnSd3Exception() throws Exception {
            Path notAFolder = java.nio.file.Files.writeString(dir.resolve("file"), "x");
            Path f = notAFolder.resolve("m.safetensors");
            assertThatThrownBy(() -> SafetensorsWriter.create().write(f))
                    .isInstanceOf(org.sd3j.Sd3Exception.class)
                    .hasMessageStartingWith(f + ": cannot write safetensors file: ");
        }

        @Test
        void doesNotMoveTheCallersBufferPosition() {
            ByteBuffer b = ByteBuffer.wrap(new byte[] {9, 1, 2, 3});
            b.position(1);
            Path f = dir.resolve("pos.safetensors");
            SafetensorsWriter.create().add("u", DType.U8, new long[] {3}, b).write(f);
            assertThat(b.position()).isEqualTo(1);
            try (TensorSource s = Safetensors.open(f)) {
                assertThat(s.toLongArray("u")).containsExactly(1, 2, 3);
            }
        }
    }

    /**
     * The writer's bytes against the layout of the Python package's save_file (its Rust prepare): compact JSON,
     * descending dtype alignment then name, space padding to 8 bytes. Expected bytes are the format's, as the
     * reference's own serialization tests pin them.
     */
    @Nested
    class PythonLayout {
        private byte[] write(SafetensorsWriter w) {
            Path f = dir.resolve("layout.safetensors");
            w.write(f);
            return RawFiles.read(f);
        }

        @Test
        void singleTensorNeedsNoPadding() {
            String header = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
            assertThat(header).hasSize(64);
            byte[] out = write(SafetensorsWriter.create().add("attn.0", new float[] {0, 1, 2, 3, 4, 5}, 1, 2, 3));
            assertThat(out).isEqualTo(RawFiles.bytes(header, RawFiles.f32(0, 1, 2, 3, 4, 5)));
        }

        @Test
        void headerIsPaddedWithSpacesToAMultipleOf8() {
            String header = "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}";
            assertThat(header).hasSize(65);
            byte[] out = write(SafetensorsWriter.create().add("attn0", new float[] {0, 1, 2, 3, 4, 5}, 1, 1, 2, 3));
            assertThat(out).isEqualTo(RawFiles.bytes(header + "       ", RawFiles.f32(0, 1, 2, 3, 4, 5)));
        }

        @Test
        void metadataComesFirst() {
            byte[] out = write(SafetensorsWriter.create().metadata("framework", "pt"));
            assertThat(out).isEqualTo(RawFiles.bytes("{\"__metadata__\":{\"framework\":\"pt\"}}     ", new byte[0]));
        }

        @Test
        void tensorsByDescendingAlignmentThenName() {
            ByteBuffer one = ByteBuffer.wrap(new byte[] {1});
            SafetensorsWriter w = SafetensorsWriter.create()
                    .add("b", DType.U8, new long[] {1}, one)
                    .add("a", DType.U8, new long[] {1}, one)
                    .add("z", DType.F16, new long[] {1}, ByteBuffer.wrap(new byte[2]))
                    .add("y", DType.F64, new long[] {1}, ByteBuffer.wrap(new byte[8]))
                    .add("x", DType.BF16, new long[] {1}, ByteBuffer.wrap(new byte[2]))
                    .add("w", DType.I64, new long[] {1}, ByteBuffer.wrap(new byte[8]))
                    .add("v", DType.F32, new long[] {1}, ByteBuffer.wrap(new byte[4]))
                    .add("u", DType.BOOL, new long[] {1}, one);
            String header = new String(w.header(), StandardCharsets.UTF_8).trim();
            List<String> order = new ArrayList<>();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"([a-z])\":\\{\"dtype\"").matcher(header);
            while (m.find()) {
                order.add(m.group(1));
            }
            assertThat(order).containsExactly("w", "y", "v", "x", "z", "a", "b", "u");
            assertThat(header).startsWith("{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                    + "\"y\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]},");
        }

        @Test
        void namesCompareByCodePointLikeUtf8Bytes() {
            // U+FF21 sorts before U+1F600 in UTF-8 (and code points) but after it in UTF-16 units.
            assertThat(SafetensorsWriter.compareCodePoints("\uFF21", "\uD83D\uDE00")).isNegative();
            assertThat("\uFF21".compareTo("\uD83D\uDE00")).isPositive();
            assertThat(SafetensorsWriter.compareCodePoints("a", "ab")).isNegative();
            assertThat(SafetensorsWriter.compareCodePoints("ab", "ab")).isZero();
        }

        @Test
        void stringsAreEscapedAsSerdeJsonDoes() {
            byte[] out = write(SafetensorsWriter.create().metadata("k", "\u0001\u001f\t\"\\/é\u007f"));
            String header = new String(out, 8, out.length - 8, StandardCharsets.UTF_8).trim();
            assertThat(header).isEqualTo("{\"__metadata__\":{\"k\":\"\\u0001\\u001f\\t\\\"\\\\/é\u007f\"}}");
        }
    }

    @Nested
    class Conversions_ {
        private TensorSource write(String name, DType dtype, long[] shape, byte[] bytes) {
            Path f = dir.resolve(name + ".safetensors");
            SafetensorsWriter.create().add(name, dtype, shape, ByteBuffer.wrap(bytes)).write(f);
            return Safetensors.open(f);
        }

        private ByteBuffer le(int bytes) {
            return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        }

        @Test
        void integersToFloatAndLong() {
            ByteBuffer b = le(4 * 8);
            b.putLong(0, -3).putLong(8, 1L << 40).putLong(16, Long.MAX_VALUE).putLong(24, 0);
            try (TensorSource s = write("i64", DType.I64, new long[] {4}, b.array())) {
                assertThat(s.toLongArray("i64")).containsExactly(-3, 1L << 40, Long.MAX_VALUE, 0);
                assertThat(s.toFloatTensor("i64").toArray()).containsExactly(-3f, 0x1p40f, 0x1p63f, 0f);
            }
            try (TensorSource s = write("u8", DType.U8, new long[] {3}, new byte[] {(byte) 255, 0, 7})) {
                assertThat(s.toLongArray("u8")).containsExactly(255, 0, 7);
                assertThat(s.toFloatTensor("u8").toArray()).containsExactly(255f, 0f, 7f);
            }
            ByteBuffer u32 = le(8).putInt(0, -1).putInt(4, 5);
            try (TensorSource s = write("u32", DType.U32, new long[] {2}, u32.array())) {
                assertThat(s.toLongArray("u32")).containsExactly(4294967295L, 5);
            }
            ByteBuffer i16 = le(4).putShort(0, (short) -2).putShort(2, (short) 0x7FFF);
            try (TensorSource s = write("i16", DType.I16, new long[] {2}, i16.array())) {
                assertThat(s.toFloatTensor("i16").toArray()).containsExactly(-2f, 32767f);
            }
        }

        @Test
        void u64AboveLongMaxIsFloatButNotLong() {
            ByteBuffer b = le(16).putLong(0, -1L).putLong(8, 1L << 63);
            try (TensorSource s = write("u64", DType.U64, new long[] {2}, b.array())) {
                assertThat(s.toFloatTensor("u64").toArray()).containsExactly(0x1p64f, 0x1p63f);
                assertThatThrownBy(() -> s.toLongArray("u64")).isInstanceOf(ModelLoadException.class)
                        .hasMessageEndingWith("tensor 'u64': U64 element 0 is 18446744073709551615, larger than a long"
                                + " can hold");
            }
        }

        @Test
        void toLongArrayRejectsFloats() {
            try (TensorSource s = write("f", DType.F32, new long[] {1}, new byte[4])) {
                assertThatThrownBy(() -> s.toLongArray("f")).isInstanceOf(ModelLoadException.class)
                        .hasMessage(s.pathOf("f") + ": tensor 'f': dtype F32 is not an integer type (expected BOOL,"
                                + " U8, I8, I16, U16, I32, U32, I64 or U64)");
            }
        }

        @Test
        void float8Formats() {
            byte[] bytes = {0x7E, 0x01, (byte) 0xFF, 0x38, (byte) 0xB8};
            try (TensorSource s = write("e4m3", DType.F8_E4M3, new long[] {5}, bytes)) {
                float[] v = s.toFloatTensor("e4m3").toArray();
                assertThat(v[0]).isEqualTo(448f);
                assertThat(v[1]).isEqualTo(0x1p-9f);
                assertThat(v[2]).isNaN();
                assertThat(v[3]).isEqualTo(1f);
                assertThat(v[4]).isEqualTo(-1f);
            }
            byte[] e5 = {0x7B, 0x7C, (byte) 0xFC, 0x7D, 0x01, 0x3C};
            try (TensorSource s = write("e5m2", DType.F8_E5M2, new long[] {6}, e5)) {
                float[] v = s.toFloatTensor("e5m2").toArray();
                assertThat(v).startsWith(57344f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY);
                assertThat(v[3]).isNaN();
                assertThat(v[4]).isEqualTo(0x1p-16f);
                assertThat(v[5]).isEqualTo(1f);
            }
            byte[] fnuz = {(byte) 0x80, 0x40, 0x7F};
            try (TensorSource s = write("e4m3fnuz", DType.F8_E4M3FNUZ, new long[] {3}, fnuz)) {
                float[] v = s.toFloatTensor("e4m3fnuz").toArray();
                assertThat(v[0]).isNaN();
                assertThat(v[1]).isEqualTo(1f);
                assertThat(v[2]).isEqualTo(240f);
            }
            try (TensorSource s = write("e5m2fnuz", DType.F8_E5M2FNUZ, new long[] {2}, new byte[] {0x40, 0x7F})) {
                assertThat(s.toFloatTensor("e5m2fnuz").toArray()).containsExactly(1f, 57344f);
            }
            try (TensorSource s = write("e8m0", DType.F8_E8M0, new long[] {3}, new byte[] {127, (byte) 130, (byte) 255})) {
                float[] v = s.toFloatTensor("e8m0").toArray();
                assertThat(v[0]).isEqualTo(1f);
                assertThat(v[1]).isEqualTo(8f);
                assertThat(v[2]).isNaN();
            }
        }

        @Test
        void complexIsNotConvertible() {
            try (TensorSource s = write("c", DType.C64, new long[] {1}, new byte[8])) {
                assertThatThrownBy(() -> s.toFloatTensor("c")).isInstanceOf(ModelLoadException.class)
                        .hasMessageEndingWith("tensor 'c': dtype C64 (complex) cannot be converted to float32");
            }
        }

        @Test
        void forInferenceIsZeroCopyForF32AndF16AndConvertsBf16() {
            Tensor t = Tensor.of(new float[] {1f, -0.5f, 3.25f, 1e-3f}, 2, 2);
            Path f = dir.resolve("inf.safetensors");
            SafetensorsWriter.create().add("f32", t).addAs("f16", t, DType.F16).addAs("bf16", t, DType.BF16)
                    .add("i8", DType.I8, new long[] {1}, ByteBuffer.wrap(new byte[1])).write(f);
            try (TensorSource s = Safetensors.open(f)) {
                LoadedTensor a = s.forInference("f32");
                assertThat(a.dtype()).isEqualTo(DType.F32);
                assertThat(a.shape()).containsExactly(2, 2);
                assertThat(a.data()).isEqualTo(s.bytes("f32"));
                assertThat(a.data().isDirect()).isTrue();
                assertThat(a.data().isReadOnly()).isTrue();
                assertThat(a.data().order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);

                LoadedTensor h = s.forInference("f16");
                assertThat(h.dtype()).isEqualTo(DType.F16);
                assertThat(h.data()).isEqualTo(s.bytes("f16"));

                LoadedTensor b = s.forInference("bf16");
                assertThat(b.dtype()).isEqualTo(DType.F32);
                assertThat(b.data().isDirect()).isTrue();
                assertThat(b.data().order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
                assertThat(b.data().remaining()).isEqualTo(16);
                float[] expected = s.toFloatTensor("bf16").toArray();
                for (int i = 0; i < 4; i++) {
                    assertThat(b.data().getFloat(i * 4)).isEqualTo(expected[i]);
                }

                assertThatThrownBy(() -> s.forInference("i8")).isInstanceOf(ModelLoadException.class)
                        .hasMessage(f + ": tensor 'i8': dtype I8 cannot be used for inference, expected F32, F16 or BF16");
            }
        }
    }

    @Nested
    class Mapping {
        @Test
        void tensorsSpreadOverSeveralSegmentsReadCorrectly() {
            Random rnd = new Random(3);
            SafetensorsWriter w = SafetensorsWriter.create();
            Map<String, byte[]> data = new LinkedHashMap<>();
            for (int i = 0; i < 20; i++) {
                byte[] b = randomBytes(rnd, 4 * (1 + rnd.nextInt(50)));
                data.put("t" + i, b);
                w.add("t" + i, DType.F32, new long[] {b.length / 4}, ByteBuffer.wrap(b));
            }
            Path f = dir.resolve("seg.safetensors");
            w.write(f);
            // 64-byte segments: most tensors get a segment of their own, some share one.
            try (SafetensorsFile s = SafetensorsFile.open(f, 64, Integer.MAX_VALUE)) {
                data.forEach((name, bytes) -> assertThat(toArray(s.bytes(name))).as(name).isEqualTo(bytes));
            }
        }

        @Test
        void tensorLargerThanOneMappingFailsOnlyWhenRead() {
            Path f = dir.resolve("large.safetensors");
            SafetensorsWriter.create().add("small", new float[] {1f}, 1).add("large", new float[100], 100).write(f);
            try (SafetensorsFile s = SafetensorsFile.open(f, 64, 64)) {
                assertThat(s.toFloatTensor("small").toArray()).containsExactly(1f);
                assertThat(s.info("large").byteSize()).isEqualTo(400);
                assertThatThrownBy(() -> s.bytes("large")).isInstanceOf(ModelLoadException.class)
                        .hasMessage(f + ": tensor 'large' holds 400 bytes, more than the 64 one memory mapping can hold");
                assertThatThrownBy(() -> s.toFloatTensor("large")).isInstanceOf(ModelLoadException.class);
            }
        }

        @Test
        void bytesAreIndependentReadOnlyLittleEndianBuffers() {
            Path f = dir.resolve("m.safetensors");
            SafetensorsWriter.create().add("a", new float[] {1f, 2f}, 2).add("b", new float[] {3f}, 1).write(f);
            try (TensorSource s = Safetensors.open(f)) {
                ByteBuffer a1 = s.bytes("a");
                ByteBuffer a2 = s.bytes("a");
                ByteBuffer b = s.bytes("b");
                assertThat(a1).isNotSameAs(a2);
                assertThat(a1.isReadOnly()).isTrue();
                assertThat(b.isReadOnly()).isTrue();
                assertThat(a1.isDirect()).isTrue();
                assertThat(a1.order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
                assertThat(a1.position()).isZero();
                assertThat(a1.capacity()).isEqualTo(8);
                assertThat(b.capacity()).isEqualTo(4);
                a1.position(4);
                assertThat(a2.position()).isZero();
                assertThat(a2.getFloat(4)).isEqualTo(2f);
                assertThat(b.getFloat(0)).isEqualTo(3f);
                assertThatThrownBy(() -> a2.putFloat(0, 5f)).isInstanceOf(java.nio.ReadOnlyBufferException.class);
            }
        }

        @Test
        void converteredTensorsOutliveTheSource() {
            Path f = dir.resolve("m.safetensors");
            SafetensorsWriter.create().add("a", new float[] {1f, 2f}, 2).write(f);
            Tensor t;
            try (TensorSource s = Safetensors.open(f)) {
                t = s.toFloatTensor("a");
            }
            t.set(0, 7f);
            assertThat(t.toArray()).containsExactly(7f, 2f);
        }

        @Test
        void concurrentReads() throws Exception {
            Tensor t = Tensor.zeros(10_000);
            for (int i = 0; i < t.size(); i++) {
                t.set(i, i);
            }
            Path f = dir.resolve("c.safetensors");
            SafetensorsWriter.create().add("a", t).addAs("b", t, DType.BF16).write(f);
            try (TensorSource s = Safetensors.open(f)) {
                List<Thread> threads = new ArrayList<>();
                List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
                for (int k = 0; k < 4; k++) {
                    Thread th = new Thread(() -> {
                        try {
                            for (int r = 0; r < 20; r++) {
                                assertThat(s.toFloatTensor("a").maxAbsDiff(t)).isZero();
                                assertThat(s.forInference("b").data().remaining()).isEqualTo(40_000);
                            }
                        } catch (Throwable e) {
                            failures.add(e);
                        }
                    });
                    threads.add(th);
                    th.start();
                }
                for (Thread th : threads) {
                    th.join();
                }
                assertThat(failures).isEmpty();
            }
        }
    }

    @Nested
    class Closing {
        @Test
        void closeIsIdempotentAndAClosedSourceRefusesUse() {
            Path f = dir.resolve("c.safetensors");
            SafetensorsWriter.create().add("a", new float[] {1f}, 1).write(f);
            TensorSource s = Safetensors.open(f);
            s.close();
            s.close();
            String closed = f + " is closed";
            assertThatThrownBy(s::names).isInstanceOf(IllegalStateException.class).hasMessage(closed);
            assertThatThrownBy(() -> s.info("a")).isInstanceOf(IllegalStateException.class).hasMessage(closed);
            assertThatThrownBy(() -> s.find("a")).isInstanceOf(IllegalStateException.class).hasMessage(closed);
            assertThatThrownBy(() -> s.bytes("a")).isInstanceOf(IllegalStateException.class).hasMessage(closed);
            assertThatThrownBy(() -> s.toFloatTensor("a")).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> s.forInference("a")).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(s::metadata).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> s.pathOf("a")).isInstanceOf(IllegalStateException.class);
        }

        @Test
        void missingTensor() {
            Path f = dir.resolve("c.safetensors");
            SafetensorsWriter.create().add("a", new float[] {1f}, 1).write(f);
            try (TensorSource s = Safetensors.open(f)) {
                assertThat(s.find("b")).isEmpty();
                assertThat(s.contains("a")).isTrue();
                assertThatThrownBy(() -> s.info("b")).isInstanceOf(ModelLoadException.class)
                        .hasMessage(f + ": missing tensor 'b'");
                assertThatThrownBy(() -> s.bytes("b")).hasMessage(f + ": missing tensor 'b'");
                assertThatThrownBy(() -> s.pathOf("b")).hasMessage(f + ": missing tensor 'b'");
                assertThatThrownBy(() -> s.info(null)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("name must be non-null, found null");
            }
        }
    }

    @Nested
    class Info {
        @Test
        void valueSemanticsAndChecks() {
            TensorInfo a = new TensorInfo("a", DType.F16, new long[] {2, 3}, 8, 20);
            assertThat(a).isEqualTo(new TensorInfo("a", DType.F16, new long[] {2, 3}, 8, 20)).hasSameHashCodeAs(
                    new TensorInfo("a", DType.F16, new long[] {2, 3}, 8, 20));
            assertThat(a.elementCount()).isEqualTo(6);
            assertThat(a.byteSize()).isEqualTo(12);
            assertThat(a.intShape()).containsExactly(2, 3);
            long[] shape = a.shape();
            shape[0] = 99;
            assertThat(a.shape()).containsExactly(2, 3);
            assertThat(a.toString()).isEqualTo("TensorInfo[a, F16 x [2, 3], [8, 20]]");
            assertThatThrownBy(() -> new TensorInfo("a", DType.F16, new long[] {2, 3}, 8, 19))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("offsets must span 12 bytes for F16 x [2, 3], found [8, 19]");
            assertThatThrownBy(() -> new TensorInfo("big", DType.U8, new long[] {1L << 32, 0}, 0, 0).intShape())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("tensor 'big' has shape [4294967296, 0], with a dimension larger than 2147483647");
        }

        @Test
        void dtypeParse() {
            assertThat(DType.parse("BF16")).isEqualTo(DType.BF16);
            assertThat(DType.BF16.byteSize()).isEqualTo(2);
            assertThat(DType.C64.byteSize()).isEqualTo(8);
            assertThatThrownBy(() -> DType.parse("bf16")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("dtype must be one of " + String.join(", ",
                            Arrays.stream(DType.values()).map(Enum::name).toArray(String[]::new)) + ", found 'bf16'");
        }
    }
}
