package org.sd3j.onnx.safetensors;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * {@link Half} against independent references: a second implementation built on {@link Math#rint} (exact round to
 * nearest even of a scaled double) and {@link Math#scalb}, and numpy's conversions in a committed table
 * ({@code src/test/python/make_half_reference.py}).
 */
class HalfTest {

    /** F16 bits nearest to f, computed as rint of a scaled double (exact: every float is a double). */
    static int referenceF16(float f) {
        int sign = Float.floatToRawIntBits(f) < 0 ? 0x8000 : 0;
        double a = Math.abs((double) f);
        if (Double.isInfinite(a)) {
            return sign | 0x7C00;
        }
        if (a == 0) {
            return sign;
        }
        int e = Math.getExponent(a);
        if (e < -14) { // subnormal range: units of 2^-24
            return sign | (int) Math.rint(a * 0x1p24); // 1024 is the smallest normal's bit pattern too
        }
        double q = Math.rint(Math.scalb(a, 10 - e)); // 11 significant bits
        if (q == 2048) {
            q = 1024;
            e++;
        }
        if (e > 15) {
            return sign | 0x7C00;
        }
        return sign | ((e + 15) << 10) | ((int) q - 1024);
    }

    static int referenceBf16(float f) {
        int sign = Float.floatToRawIntBits(f) < 0 ? 0x8000 : 0;
        double a = Math.abs((double) f);
        if (Double.isInfinite(a)) {
            return sign | 0x7F80;
        }
        if (a == 0) {
            return sign;
        }
        int e = Math.getExponent(a);
        if (e < -126) { // subnormal: units of 2^-133
            return sign | (int) Math.rint(a * 0x1p133);
        }
        double q = Math.rint(Math.scalb(a, 7 - e)); // 8 significant bits
        if (q == 256) {
            q = 128;
            e++;
        }
        if (e > 127) {
            return sign | 0x7F80;
        }
        return sign | ((e + 127) << 7) | ((int) q - 128);
    }

    /** Value of F16 bits from the definition. */
    static double referenceF16Value(int h) {
        int exp = (h >> 10) & 0x1F;
        int mant = h & 0x3FF;
        double v = exp == 0 ? Math.scalb((double) mant, -24) : Math.scalb((double) (1024 + mant), exp - 25);
        return (h & 0x8000) != 0 ? -v : v;
    }

    @Nested
    class F16 {
        @Test
        void everyBitPatternWidensExactlyAndRoundTrips() {
            for (int h = 0; h < 0x10000; h++) {
                float f = Half.f16ToFloat((short) h);
                int exp = (h >> 10) & 0x1F;
                if (exp == 0x1F) {
                    if ((h & 0x3FF) == 0) {
                        assertThat(f).isEqualTo((h & 0x8000) != 0 ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY);
                    } else {
                        assertThat(f).as("0x%04x", h).isNaN();
                        // payload and sign survive the round trip
                        assertThat(Half.floatToF16(f) & 0xFFFF).as("0x%04x", h).isEqualTo(h);
                    }
                    continue;
                }
                assertThat((double) f).as("0x%04x", h).isEqualTo(referenceF16Value(h));
                assertThat(Half.floatToF16(f) & 0xFFFF).as("0x%04x", h).isEqualTo(h);
            }
        }

        @Test
        void narrowingMatchesTheReferenceNearEveryTieAndOnRandomFloats() {
            for (int h = 0; h < 0x7C00; h++) {
                float lo = Half.f16ToFloat((short) h);
                float hi = h == 0x7BFF ? 65536f : Half.f16ToFloat((short) (h + 1));
                float mid = (float) (((double) lo + hi) / 2); // exact: 12 significant bits
                for (float f : new float[] {lo, Math.nextUp(lo), Math.nextDown(mid), mid, Math.nextUp(mid),
                        Math.nextDown(hi)}) {
                    checkF16(f);
                    checkF16(-f);
                }
            }
            SplittableRandom rnd = new SplittableRandom(42);
            for (int i = 0; i < 2_000_000; i++) {
                float f = Float.intBitsToFloat(rnd.nextInt());
                if (!Float.isNaN(f)) {
                    checkF16(f);
                }
            }
        }

        private void checkF16(float f) {
            int got = Half.floatToF16(f) & 0xFFFF;
            int want = referenceF16(f);
            if (got != want) {
                assertThat(Integer.toHexString(got)).as("floatToF16(%s) [0x%08x]", f, Float.floatToRawIntBits(f))
                        .isEqualTo(Integer.toHexString(want));
            }
        }

        @Test
        void knownValues() {
            assertThat(Half.floatToF16(65504f)).isEqualTo((short) 0x7BFF);
            assertThat(Half.floatToF16(65519.996f)).isEqualTo((short) 0x7BFF);
            assertThat(Half.floatToF16(65520f)).isEqualTo((short) 0x7C00);
            assertThat(Half.floatToF16(0x1p-24f)).isEqualTo((short) 0x0001);
            assertThat(Half.floatToF16(0x1p-25f)).isEqualTo((short) 0x0000); // tie to even
            assertThat(Half.floatToF16(Math.nextUp(0x1p-25f))).isEqualTo((short) 0x0001);
            assertThat(Half.floatToF16(0x3p-25f)).isEqualTo((short) 0x0002); // 1.5 units: tie to even 2
            assertThat(Half.floatToF16(1f + 0x1p-11f)).isEqualTo((short) 0x3C00); // tie to even
            assertThat(Half.floatToF16(1f + 0x3p-11f)).isEqualTo((short) 0x3C02);
            assertThat(Half.floatToF16(-0f)).isEqualTo((short) 0x8000);
            assertThat(Half.f16ToFloat((short) 0x3555)).isEqualTo(0.333251953125f);
            assertThat(Half.f16ToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
            assertThat(Half.f16ToFloat((short) 0xFBFF)).isEqualTo(-65504f);
        }

        @Test
        void nanStaysNan() {
            assertThat(Half.floatToF16(Float.NaN) & 0xFFFF).isEqualTo(0x7E00);
            assertThat(Half.floatToF16(Float.intBitsToFloat(0x7F800001)) & 0xFFFF).isEqualTo(0x7C01);
            assertThat(Half.floatToF16(Float.intBitsToFloat(0xFFC00000)) & 0xFFFF).isEqualTo(0xFE00);
        }

        @Test
        void matchesNumpy() throws Exception {
            int checked = 0;
            try (InputStream in = HalfTest.class.getResourceAsStream("/safetensors/f16_numpy.txt");
                    BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.startsWith("#")) {
                        continue;
                    }
                    String[] parts = line.split(" ");
                    if (parts[0].equals("sha256-f16-to-f32-non-nan")) {
                        assertThat(widenedDigest()).isEqualTo(parts[1]);
                        continue;
                    }
                    float f = Float.intBitsToFloat(Integer.parseUnsignedInt(parts[0], 16));
                    int want = Integer.parseInt(parts[1], 16);
                    assertThat(Half.floatToF16(f) & 0xFFFF).as("numpy float16(%s) [%s]", f, parts[0]).isEqualTo(want);
                    checked++;
                }
            }
            assertThat(checked).isGreaterThan(10_000);
        }

        /** SHA-256 of every non-NaN F16 pattern widened to F32, little-endian, as numpy computes it. */
        private String widenedDigest() throws Exception {
            ByteBuffer b = ByteBuffer.allocate(65536 * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int h = 0; h < 0x10000; h++) {
                float f = Half.f16ToFloat((short) h);
                if (!Float.isNaN(f)) {
                    b.putFloat(f);
                }
            }
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(b.array(), 0, b.position());
            return HexFormat.of().formatHex(md.digest());
        }
    }

    @Nested
    class Bf16 {
        @Test
        void everyBitPatternRoundTrips() {
            for (int h = 0; h < 0x10000; h++) {
                float f = Half.bf16ToFloat((short) h);
                assertThat(Float.floatToRawIntBits(f)).isEqualTo(h << 16);
                int back = Half.floatToBf16(f) & 0xFFFF;
                if (Float.isNaN(f)) {
                    assertThat(back).as("0x%04x", h).isEqualTo(h | 0x0040);
                } else {
                    assertThat(back).as("0x%04x", h).isEqualTo(h);
                }
            }
        }

        @Test
        void narrowingMatchesTheReference() {
            for (int h = 0; h < 0x7F80; h++) {
                int lo = h << 16;
                for (int bits : new int[] {lo, lo + 1, lo + 0x7FFF, lo + 0x8000, lo + 0x8001, lo + 0xFFFF}) {
                    checkBf16(Float.intBitsToFloat(bits));
                    checkBf16(Float.intBitsToFloat(bits | 0x80000000));
                }
            }
            SplittableRandom rnd = new SplittableRandom(7);
            for (int i = 0; i < 2_000_000; i++) {
                float f = Float.intBitsToFloat(rnd.nextInt());
                if (!Float.isNaN(f)) {
                    checkBf16(f);
                }
            }
        }

        private void checkBf16(float f) {
            int got = Half.floatToBf16(f) & 0xFFFF;
            int want = referenceBf16(f);
            if (got != want) {
                assertThat(Integer.toHexString(got)).as("floatToBf16(%s) [0x%08x]", f, Float.floatToRawIntBits(f))
                        .isEqualTo(Integer.toHexString(want));
            }
        }

        @Test
        void knownValues() {
            assertThat(Half.floatToBf16(1f)).isEqualTo((short) 0x3F80);
            assertThat(Half.floatToBf16(Float.intBitsToFloat(0x3F808000))).isEqualTo((short) 0x3F80); // tie to even
            assertThat(Half.floatToBf16(Float.intBitsToFloat(0x3F818000))).isEqualTo((short) 0x3F82); // tie to even
            assertThat(Half.floatToBf16(Float.MAX_VALUE)).isEqualTo((short) 0x7F80);
            assertThat(Half.floatToBf16(Float.NaN) & 0xFFFF).isEqualTo(0x7FC0);
            assertThat(Half.floatToBf16(Float.intBitsToFloat(0x7F800001)) & 0xFFFF).isEqualTo(0x7FC0);
            assertThat(Half.bf16ToFloat((short) 0xC049)).isEqualTo(-3.140625f);
        }
    }
}
