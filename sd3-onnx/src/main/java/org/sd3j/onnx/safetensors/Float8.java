package org.sd3j.onnx.safetensors;

/** Decoding of the 8-bit float dtypes to float32 (exact), through 256-entry tables. Thread-safe. */
final class Float8 {
    private static final float[] E4M3 = new float[256];
    private static final float[] E5M2 = new float[256];
    private static final float[] E8M0 = new float[256];
    private static final float[] E4M3FNUZ = new float[256];
    private static final float[] E5M2FNUZ = new float[256];

    static {
        for (int b = 0; b < 256; b++) {
            E4M3[b] = decode(b, 4, 3, 7, false, false);
            E5M2[b] = decode(b, 5, 2, 15, true, false);
            E4M3FNUZ[b] = decode(b, 4, 3, 8, false, true);
            E5M2FNUZ[b] = decode(b, 5, 2, 16, false, true);
            E8M0[b] = b == 0xFF ? Float.NaN : Math.scalb(1f, b - 127);
        }
    }

    private Float8() {
    }

    /**
     * @param ieee whether the all-ones exponent means infinity/NaN (E5M2); otherwise only the all-ones pattern is
     *             NaN (E4M3FN), or, for {@code fnuz}, only the negative-zero pattern 0x80 is NaN
     */
    private static float decode(int b, int expBits, int mantBits, int bias, boolean ieee, boolean fnuz) {
        int sign = b >>> 7;
        int exp = (b >>> mantBits) & ((1 << expBits) - 1);
        int mant = b & ((1 << mantBits) - 1);
        int maxExp = (1 << expBits) - 1;
        if (fnuz) {
            if (b == 0x80) {
                return Float.NaN;
            }
        } else if (ieee) {
            if (exp == maxExp) {
                return mant == 0 ? (sign == 1 ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY) : Float.NaN;
            }
        } else if (exp == maxExp && mant == (1 << mantBits) - 1) {
            return Float.NaN;
        }
        float v = exp == 0
                ? Math.scalb((float) mant, 1 - bias - mantBits)
                : Math.scalb((float) ((1 << mantBits) | mant), exp - bias - mantBits);
        return sign == 1 ? -v : v;
    }

    /** The value of byte {@code b} in {@code dtype}, one of the F8 types. */
    static float toFloat(DType dtype, byte b) {
        int i = b & 0xFF;
        switch (dtype) {
            case F8_E4M3:
                return E4M3[i];
            case F8_E5M2:
                return E5M2[i];
            case F8_E8M0:
                return E8M0[i];
            case F8_E4M3FNUZ:
                return E4M3FNUZ[i];
            case F8_E5M2FNUZ:
                return E5M2FNUZ[i];
            default:
                throw new IllegalArgumentException("dtype must be an F8 type, found " + dtype);
        }
    }
}
