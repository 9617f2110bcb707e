package org.sd3j.onnx.safetensors;

/**
 * Exact conversions between float32 and the two 16-bit float formats of checkpoints: IEEE 754 half precision
 * (F16) and bfloat16 (BF16). Java 17 has no {@code Float.float16ToFloat} (it arrived in Java 20).
 *
 * <p>Widening ({@code f16ToFloat}, {@code bf16ToFloat}) is exact for every bit pattern, subnormals included;
 * NaNs keep their sign and payload. Narrowing ({@code floatToF16}, {@code floatToBf16}) rounds to nearest, ties to
 * even, as IEEE 754, numpy and PyTorch do: values beyond the largest finite result become infinity, tiny ones
 * become subnormals or signed zero. A NaN stays a NaN of the same sign: for F16 its payload is truncated to the
 * top 10 bits (made non-zero if that leaves nothing), as numpy does; for BF16 the top 7 payload bits are kept and
 * the quiet bit is set.
 *
 * <p>Stateless and thread-safe.
 */
public final class Half {
    private Half() {
    }

    /** The float32 value of the F16 bit pattern {@code bits} (exact). */
    public static float f16ToFloat(short bits) {
        int h = bits & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0x1F) { // infinity or NaN: keep the payload
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            float v = mant * 0x1p-24f; // subnormal: exact, mant < 2^10
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** The F16 bit pattern nearest to {@code f} (round to nearest, ties to even). */
    public static short floatToF16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7FFFFFFF;
        if (abs >= 0x7F800000) {
            if (abs == 0x7F800000) {
                return (short) (sign | 0x7C00);
            }
            int payload = (abs & 0x7FFFFF) >>> 13;
            return (short) (sign | 0x7C00 | (payload == 0 ? 1 : payload));
        }
        if (abs >= 0x477FF000) { // >= 65520, the midpoint between 65504 (largest finite) and 65536: ties go up
            return (short) (sign | 0x7C00);
        }
        if (abs >= 0x38800000) { // >= 2^-14: normal F16
            int h = ((abs >>> 23) - 112) << 10 | ((abs & 0x7FFFFF) >>> 13);
            int rem = abs & 0x1FFF;
            if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) {
                h++; // a carry into the exponent is still correct
            }
            return (short) (sign | h);
        }
        if (abs <= 0x33000000) { // <= 2^-25, half the smallest subnormal: rounds to zero (a tie goes to even 0)
            return (short) sign;
        }
        int exp = abs >>> 23; // 102..112 here
        int mant = (abs & 0x7FFFFF) | 0x800000;
        int shift = 126 - exp; // value = mant * 2^(exp-150) = (mant >> shift) units of 2^-24
        int h = mant >>> shift;
        int rem = mant & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (rem > half || (rem == half && (h & 1) != 0)) {
            h++; // may become 0x400, the smallest normal: correct
        }
        return (short) (sign | h);
    }

    /** The float32 value of the BF16 bit pattern {@code bits} (exact). */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** The BF16 bit pattern nearest to {@code f} (round to nearest, ties to even). */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
