package org.sd3j.onnx.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;

/** Every way a header can be wrong gives a ModelLoadException naming the file and tensor, expected and found. */
class HeaderValidationTest {
    @TempDir
    Path dir;

    private static final String A4 = "{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}";

    private Path file(String header, byte[] data) {
        return RawFiles.write(dir.resolve("model.safetensors"), header, data);
    }

    private Path file(byte[] content) {
        return RawFiles.write(dir.resolve("model.safetensors"), content);
    }

    /** Opening {@code file} fails with exactly {@code "<file>: " + message}. */
    private static void assertRejected(Path file, String message) {
        assertThatThrownBy(() -> SafetensorsFile.open(file))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(file + ": " + message)
                .satisfies(e -> assertThat(((ModelLoadException) e).path()).contains(file));
    }

    private static void assertRejectedStartingWith(Path file, String prefix) {
        assertThatThrownBy(() -> SafetensorsFile.open(file))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageStartingWith(file + ": " + prefix);
    }

    private static byte[] withLength(long n, byte[] rest) {
        return ByteBuffer.allocate(8 + rest.length).order(ByteOrder.LITTLE_ENDIAN).putLong(n).put(rest).array();
    }

    @Nested
    class HeaderLength {
        @Test
        void fileShorterThanTheLengthField() {
            assertRejected(file(new byte[] {1, 2, 3}), "file holds 3 bytes, fewer than the 8 of the header length"
                    + " field (a safetensors file starts with its header length as a little-endian 64-bit integer)");
        }

        @Test
        void emptyFile() {
            assertRejectedStartingWith(file(new byte[0]), "file holds 0 bytes, fewer than the 8");
        }

        @Test
        void lengthAboveTheLimit() {
            assertRejected(file(withLength(100_000_001L, new byte[16])), "header length 100000001 exceeds the limit of"
                    + " 100000000 bytes (the first 8 bytes are not a safetensors header length)");
        }

        @Test
        void lengthWithTheTopBitSetIsShownUnsigned() {
            assertRejectedStartingWith(file(withLength(-1L, new byte[16])),
                    "header length 18446744073709551615 exceeds the limit");
        }

        @Test
        void lengthPastTheEndOfTheFile() {
            assertRejected(file(withLength(100, "{}".getBytes(StandardCharsets.UTF_8))),
                    "header length 100 runs past the end of the file: only 2 bytes follow the length field"
                            + " (is the file truncated?)");
        }

        @Test
        void emptyHeader() {
            assertRejected(file(withLength(0, new byte[0])),
                    "header must start with '{', found an empty header (header length 0)");
        }
    }

    @Nested
    class Json {
        @Test
        void invalidUtf8() {
            byte[] header = {'{', '"', 'a', (byte) 0xFF, '"', ':', '1', '}'};
            assertRejected(file(RawFiles.bytes(header, new byte[0])),
                    "header is not valid UTF-8: bad byte 0xff at header offset 3");
        }

        @Test
        void overlongUtf8IsRejectedLikeRust() {
            byte[] header = {'{', '"', (byte) 0xC0, (byte) 0xAF, '"', ':', '1', '}'};
            assertRejected(file(RawFiles.bytes(header, new byte[0])),
                    "header is not valid UTF-8: bad byte 0xc0 at header offset 2");
        }

        @Test
        void mustStartWithABrace() {
            assertRejected(file(" {}", new byte[0]), "header must start with '{', found byte 0x20 (header length 3)");
            assertRejected(file("[]", new byte[0]), "header must start with '{', found byte 0x5b (header length 2)");
        }

        @Test
        void truncatedJson() {
            assertRejectedStartingWith(file("{\"a\":", new byte[0]), "header is not valid JSON at character ");
        }

        @Test
        void secondValueAfterTheObject() {
            assertRejected(file("{}{}", new byte[0]),
                    "header is not valid JSON at character 2: unexpected '{' after the end of the JSON value");
        }

        @Test
        void nulPaddingIsNotWhitespace() {
            assertRejectedStartingWith(file("{}\0\0\0\0\0\0", new byte[0]), "header is not valid JSON");
        }

        @Test
        void duplicateTensorName() {
            assertRejected(file("{\"a\":" + A4 + ",\"a\":" + A4 + "}", new byte[16]),
                    "tensor 'a' appears twice in the header (names must be unique)");
        }

        @Test
        void duplicateFieldInAnEntry() {
            assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                    new byte[16]), "tensor 'a': key 'dtype' appears twice");
        }

        @Test
        void duplicateMetadata() {
            assertRejected(file("{\"__metadata__\":{},\"__metadata__\":{}}", new byte[0]),
                    "header holds __metadata__ twice");
            assertRejected(file("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", new byte[0]),
                    "__metadata__: key 'k' appears twice");
        }

        @Test
        void unpairedSurrogateInAName() {
            assertRejectedStartingWith(file("{\"\\ud800\":" + A4 + "}", new byte[16]), "tensor name '\ud800' must be"
                    + " valid Unicode, found an unpaired surrogate");
        }
    }

    @Nested
    class Metadata {
        @Test
        void notAnObject() {
            assertRejected(file("{\"__metadata__\":[1]}", new byte[0]),
                    "__metadata__ must be an object of strings, found an array [1]");
        }

        @Test
        void valueNotAString() {
            assertRejected(file("{\"__metadata__\":{\"format\":\"pt\",\"step\":12}}", new byte[0]),
                    "__metadata__ value of 'step' must be a string, found an integer 12");
        }

        @Test
        void nullMeansNone() {
            try (SafetensorsFile f = SafetensorsFile.open(file("{\"__metadata__\":null}", new byte[0]))) {
                assertThat(f.metadata()).isEmpty();
            }
        }
    }

    @Nested
    class Entries {
        @Test
        void entryNotAnObject() {
            assertRejected(file("{\"a\":1}", new byte[0]),
                    "tensor 'a': entry must be an object with dtype, shape and data_offsets, found an integer 1");
        }

        @Test
        void missingField() {
            assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4]}}", new byte[16]),
                    "tensor 'a': missing field 'data_offsets' (an entry needs dtype, shape and data_offsets),"
                            + " found {\"dtype\":\"F32\",\"shape\":[4]}");
        }

        @Test
        void dtypeNotAString() {
            assertRejected(file("{\"a\":{\"dtype\":4,\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[16]),
                    "tensor 'a': dtype must be a string, found an integer 4");
        }

        @Test
        void unknownDtype() {
            String known = "BOOL, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ, I16, U16, F16, BF16,"
                    + " I32, U32, F32, C64, F64, I64, U64";
            assertRejected(file("{\"a\":{\"dtype\":\"F99\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[16]),
                    "tensor 'a': unknown dtype 'F99', expected one of " + known);
            assertRejectedStartingWith(file("{\"a\":{\"dtype\":\"f32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                    new byte[16]), "tensor 'a': unknown dtype 'f32'");
            assertRejectedStartingWith(file("{\"a\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[0,2]}}",
                    new byte[2]), "tensor 'a': unknown dtype 'F4'");
        }

        @Test
        void shapeNotAnArray() {
            assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", new byte[16]),
                    "tensor 'a': shape must be an array of non-negative integers, found 4");
        }

        @Test
        void negativeDimension() {
            assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,-2],\"data_offsets\":[0,16]}}", new byte[16]),
                    "tensor 'a': shape must be an array of non-negative integers, found [2, -2]");
        }

        @Test
        void fractionalDimension() {
            assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4.0],\"data_offsets\":[0,16]}}", new byte[16]),
                    "tensor 'a': shape must be an array of non-negative integers, found [4.0]");
        }

        @Test
        void dimensionBeyondLong() {
            assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[18446744073709551615],\"data_offsets\":[0,16]}}",
                    new byte[16]), "tensor 'a': shape [18446744073709551615] holds 18446744073709551615, larger"
                            + " than 9223372036854775807 (no file is that large)");
        }

        @Test
        void shapeProductOverflow() {
            assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,16]}}",
                    new byte[16]), "tensor 'a': F32 x [4294967296, 4294967296] needs more than 9223372036854775807"
                            + " bytes (the shape overflows)");
            assertRejected(file("{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,16]}}",
                    new byte[16]), "tensor 'a': F64 x [2305843009213693952] needs more than 9223372036854775807"
                            + " bytes (the shape overflows)");
        }

        @Test
        void offsetsNotTwoIntegers() {
            String expected = "tensor 'a': data_offsets must be two non-negative integers [begin, end], found ";
            assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0]}}", new byte[16]),
                    expected + "[0]");
            assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16,32]}}", new byte[16]),
                    expected + "[0, 16, 32]");
            assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[-16,0]}}", new byte[16]),
                    expected + "[-16, 0]");
            assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,\"16\"]}}", new byte[16]),
                    expected + "[0, \"16\"]");
            assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":{\"begin\":0}}}", new byte[16]),
                    expected + "{\"begin\":0}");
        }

        @Test
        void offsetsDescending() {
            assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}", new byte[16]),
                    "tensor 'a': data_offsets [16, 0] end before they begin");
        }

        @Test
        void byteSizeNotDtypeTimesElements() {
            assertRejected(file("{\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}",
                    new byte[12]), "tensor 'a.weight': data_offsets [0, 12] hold 12 bytes, but F32 x [2, 2] needs 16");
        }

        @Test
        void offsetsOutsideTheDataSection() {
            assertRejected(file("{\"a\":" + A4 + "}", new byte[12]),
                    "tensor 'a': data_offsets [0, 16] run past the end of the data section, which holds 12 bytes");
        }
    }

    @Nested
    class Coverage {
        private final String b = "{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[%d,%d]}";

        @Test
        void overlappingRanges() {
            assertRejected(file("{\"a\":" + A4 + ",\"b\":" + String.format(b, 8, 24) + "}", new byte[24]),
                    "tensor 'b': data_offsets [8, 24] overlap tensor 'a' at [0, 16]");
        }

        @Test
        void sameRangeTwice() {
            assertRejected(file("{\"a\":" + A4 + ",\"b\":" + String.format(b, 0, 16) + "}", new byte[16]),
                    "tensor 'b': data_offsets [0, 16] overlap tensor 'a' at [0, 16]");
        }

        @Test
        void gapBetweenTensors() {
            assertRejected(file("{\"a\":" + A4 + ",\"b\":" + String.format(b, 20, 36) + "}", new byte[36]),
                    "tensor 'b': data_offsets [20, 36] leave bytes [16, 20) unused after tensor 'a' at [0, 16]"
                            + " (tensors must cover the data section without gaps, as the safetensors reference"
                            + " requires)");
        }

        @Test
        void gapAtTheStart() {
            assertRejected(file("{\"a\":" + String.format(b, 4, 20) + "}", new byte[20]),
                    "tensor 'a': data_offsets [4, 20] leave bytes [0, 4) at the start of the data section unused"
                            + " (tensors must cover the data section without gaps, as the safetensors reference"
                            + " requires)");
        }

        @Test
        void trailingBytes() {
            assertRejected(file("{\"a\":" + A4 + "}", new byte[20]), "the data section holds 20 bytes, but the"
                    + " tensors cover only the first 16 (the last is 'a'); trailing bytes are not allowed, as in the"
                    + " safetensors reference");
        }

        @Test
        void dataWithoutTensors() {
            assertRejected(file("{}", new byte[4]), "the data section holds 4 bytes, but the header lists no tensors;"
                    + " trailing bytes are not allowed, as in the safetensors reference");
        }
    }

    @Nested
    class Accepted {
        @Test
        void headerOrderIsFreeAndDataNeedNotBeAligned() {
            // b (U8, 1 byte) first in the data, then a (F32) at the unaligned offset 1; the header lists a first.
            byte[] data = new byte[17];
            data[0] = 7;
            System.arraycopy(RawFiles.f32(1.5f, -2f, 3f, 0.25f), 0, data, 1, 16);
            Path f = file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[1,17]},"
                    + "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", data);
            try (SafetensorsFile s = SafetensorsFile.open(f)) {
                assertThat(s.names()).containsExactly("a", "b");
                assertThat(s.toFloatTensor("a").toArray()).containsExactly(1.5f, -2f, 3f, 0.25f);
                assertThat(s.toLongArray("b")).containsExactly(7);
            }
        }

        @Test
        void unknownFieldsAreIgnoredAsByTheReference() {
            Path f = file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":[1,{}]}}",
                    RawFiles.f32(2f));
            try (SafetensorsFile s = SafetensorsFile.open(f)) {
                assertThat(s.info("a")).isEqualTo(new TensorInfo("a", DType.F32, new long[] {1}, 0, 4));
            }
        }

        @Test
        void whitespaceAfterTheObject() {
            try (SafetensorsFile s = SafetensorsFile.open(file("{} \n\t\r ", new byte[0]))) {
                assertThat(s.names()).isEmpty();
            }
        }

        @Test
        void emptyHeaderWithoutPadding() {
            try (SafetensorsFile s = SafetensorsFile.open(file("{}", new byte[0]))) {
                assertThat(s.names()).isEmpty();
                assertThat(s.metadata()).isEmpty();
            }
        }

        @Test
        void longNamesAndMetadataBeyondJacksonsDefaultLimits() {
            String name = "n".repeat(60_000);
            String value = "v".repeat(21_000_000);
            Path f = file("{\"__metadata__\":{\"big\":\"" + value + "\"},\"" + name
                    + "\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]}}", new byte[] {1});
            try (SafetensorsFile s = SafetensorsFile.open(f)) {
                assertThat(s.names()).containsExactly(name);
                assertThat(s.metadata().get("big")).hasSize(21_000_000);
            }
        }

        @Test
        void escapedNames() {
            Path f = file("{\"a\\u00e9\\\"\\n\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]}}", new byte[] {3});
            try (SafetensorsFile s = SafetensorsFile.open(f)) {
                assertThat(s.names()).containsExactly("a\u00e9\"\n");
            }
        }
    }

    @Nested
    class Files_ {
        @Test
        void missingFile() {
            Path f = dir.resolve("nope.safetensors");
            assertRejected(f, "no such file");
        }

        @Test
        void directory() throws Exception {
            Path d = Files.createDirectory(dir.resolve("folder.safetensors"));
            assertRejected(d, "is a directory, expected a .safetensors file (Safetensors.open accepts folders)");
        }
    }
}
