package org.sd3j.onnx.safetensors;

import java.util.Arrays;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Element types of the safetensors format, named exactly as in a file's header ({@code "F32"}, {@code "BF16"}, ...).
 *
 * <p>The constants are declared in the order the reference implementation (the Python {@code safetensors}
 * package, written in Rust) uses for alignment: its writer lays tensors out by <em>descending</em> position in
 * this order, then by name, so that with an 8-byte aligned header every tensor starts at a multiple of its
 * element size. {@link SafetensorsWriter} does the same.
 *
 * <p>The sub-byte types of recent safetensors versions ({@code F4}, {@code F6_E2M3}, {@code F6_E3M2}) are not
 * supported: files that use them are rejected with the list of known names.
 */
public enum DType {
    /** Boolean, one byte (0 or 1). */
    BOOL(1),
    /** Unsigned 8-bit integer. */
    U8(1),
    /** Signed 8-bit integer. */
    I8(1),
    /** 8-bit float, 5 exponent and 2 mantissa bits, with infinities (OCP FP8 E5M2). */
    F8_E5M2(1),
    /** 8-bit float, 4 exponent and 3 mantissa bits, finite only (OCP FP8 E4M3FN; torch's float8_e4m3fn). */
    F8_E4M3(1),
    /** 8-bit exponent-only scale (OCP MX E8M0): 2^(e-127), 0xFF is NaN. */
    F8_E8M0(1),
    /** 8-bit float E4M3 with exponent bias 8, no infinities and no negative zero (0x80 is NaN). */
    F8_E4M3FNUZ(1),
    /** 8-bit float E5M2 with exponent bias 16, no infinities and no negative zero (0x80 is NaN). */
    F8_E5M2FNUZ(1),
    /** Signed 16-bit integer. */
    I16(2),
    /** Unsigned 16-bit integer. */
    U16(2),
    /** IEEE 754 half precision. */
    F16(2),
    /** bfloat16: the upper half of a float32. */
    BF16(2),
    /** Signed 32-bit integer. */
    I32(4),
    /** Unsigned 32-bit integer. */
    U32(4),
    /** IEEE 754 single precision. */
    F32(4),
    /** Complex number of two float32 (real, imaginary). */
    C64(8),
    /** IEEE 754 double precision. */
    F64(8),
    /** Signed 64-bit integer. */
    I64(8),
    /** Unsigned 64-bit integer. */
    U64(8);

    private static final Map<String, DType> BY_NAME = Arrays.stream(values())
            .collect(Collectors.toUnmodifiableMap(DType::name, Function.identity()));

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether this is one of the floating-point types (F8 variants, F16, BF16, F32, F64); C64 is not. */
    public boolean isFloatingPoint() {
        switch (this) {
            case F8_E5M2:
            case F8_E4M3:
            case F8_E8M0:
            case F8_E4M3FNUZ:
            case F8_E5M2FNUZ:
            case F16:
            case BF16:
            case F32:
            case F64:
                return true;
            default:
                return false;
        }
    }

    /** Whether this is BOOL or one of the integer types. */
    public boolean isInteger() {
        switch (this) {
            case BOOL:
            case U8:
            case I8:
            case I16:
            case U16:
            case I32:
            case U32:
            case I64:
            case U64:
                return true;
            default:
                return false;
        }
    }

    /**
     * The type a header names {@code s} (case-sensitive, as the format requires).
     *
     * @throws IllegalArgumentException for an unknown name; the message lists the known ones
     */
    public static DType parse(String s) {
        DType t = s == null ? null : BY_NAME.get(s);
        if (t == null) {
            throw new IllegalArgumentException("dtype must be one of " + knownNames() + ", found "
                    + (s == null ? "null" : "'" + s + "'"));
        }
        return t;
    }

    /** The known dtype names, comma-separated, in declaration order. */
    static String knownNames() {
        return Arrays.stream(values()).map(DType::name).collect(Collectors.joining(", "));
    }
}
