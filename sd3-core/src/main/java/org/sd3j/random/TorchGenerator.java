package org.sd3j.random;

import java.nio.FloatBuffer;

/**
 * A pure-Java re-implementation of PyTorch's default CPU random generator ({@code CPUGeneratorImpl}) as used by
 * {@code torch.randn} for {@code float32} CPU tensors, so that Java code can reproduce the initial latent noise of a
 * Python diffusion pipeline.
 *
 * <p>{@code new TorchGenerator(seed)} corresponds to {@code torch.manual_seed(seed)} (or
 * {@code torch.Generator().manual_seed(seed)}), and each {@link #fillNormal(float[], int, int) fillNormal(dst, offset,
 * count)} call corresponds to one {@code torch.randn(count)} call (any shape with {@code count} elements) on that
 * generator; successive calls continue the stream exactly as successive {@code torch.randn} calls do.
 *
 * <p>What is reproduced (checked against PyTorch 1.13.1, Debian {@code python3-torch} 1.13.1+dfsg-4, and its
 * ATen sources; other torch versions were not checked, although this code path has been stable across 1.x):
 * <ul>
 *   <li><b>Engine:</b> {@code at::mt19937}: standard MT19937 seeded with {@code init_genrand(seed & 0xffffffff)};
 *       the 64-bit seed is only truncated, so {@code 5} and {@code 2^32 + 5} give the same stream. A negative Python
 *       seed is taken as its two's complement, like a Java {@code long}. Seeding also clears the cached normal
 *       sample.</li>
 *   <li><b>Fewer than 16 elements</b> ({@code cpu_serial_kernel} with {@code at::normal_distribution<double>}):
 *       each Box-Muller step takes two 53-bit uniforms {@code u = (random64() & (2^53 - 1)) * 2^-53}, where
 *       {@code random64() = (first 32-bit draw << 32) | second draw}; it returns
 *       {@code r * cos(theta)} with {@code r = sqrt(-2 * log(1 - u2))}, {@code theta = 2 * pi * u1}, and caches
 *       {@code r * sin(theta)} (a {@code double}) in the generator for the next scalar-path sample. The cache survives
 *       intervening calls with 16 or more elements, which neither read nor clear it. Values are computed in
 *       {@code double} and rounded to {@code float}; they match torch bit for bit (up to the rare case in which
 *       glibc's and {@link StrictMath}'s {@code log/sin/cos} differ by an ulp right at a {@code float} rounding
 *       boundary).</li>
 *   <li><b>16 or more elements</b> ({@code normal_fill}): every element first receives a 24-bit uniform
 *       {@code (random() & (2^24 - 1)) * 2^-24}; then each complete block of 16 is transformed by Box-Muller
 *       ({@code u1 = 1 - d[j]}, {@code u2 = d[j + 8]}, {@code d[j] = r cos}, {@code d[j + 8] = r sin},
 *       {@code j < 8}); if the count is not a multiple of 16, the last 16 elements are re-drawn with fresh uniforms
 *       and transformed again. The transform reproduces torch's AVX2 kernel {@code normal_fill_16_AVX2}, i.e. the
 *       {@code float} Cephes polynomials of {@code avx_mathfun.h} ({@code log256_ps}, {@code sincos256_ps}) with the
 *       fused multiply-adds GCC contracts them to, so results are bit-identical to torch on AVX2 hosts. Torch's
 *       generic kernel (used where the dispatched CPU capability is not AVX2, e.g. AVX512 or ARM hosts) uses libm
 *       {@code float} log/sin/cos instead and differs from the AVX2 kernel (and from this class) by up to a few
 *       {@code float} ulps (about 2.5e-6 absolute at most).</li>
 * </ul>
 *
 * <p>Results are fully deterministic in Java (strict IEEE arithmetic, {@link Math#fma(float, float, float)},
 * {@link StrictMath}). Instances are <b>not thread-safe</b>: use one generator per generation run / thread.
 */
public final class TorchGenerator {

    private static final int N = 624;
    private static final int M = 397;
    private static final int MATRIX_A = 0x9908b0df;
    private static final int UPPER_MASK = 0x80000000;
    private static final int LOWER_MASK = 0x7fffffff;

    /** Tensors with at least this many (contiguous float) elements use torch's vectorized normal_fill. */
    private static final int VECTOR_THRESHOLD = 16;

    private static final float FLOAT_UNIFORM_SCALE = 0x1.0p-24f;
    private static final double DOUBLE_UNIFORM_SCALE = 0x1.0p-53;
    private static final long MASK_53 = (1L << 53) - 1;

    // avx_mathfun.h constants (as float, like _PS256_CONST)
    private static final float MIN_NORM_POS = Float.MIN_NORMAL; // 0x00800000
    private static final float SQRTHF = 0.707106781186547524f;
    private static final float LOG_P0 = 7.0376836292E-2f;
    private static final float LOG_P1 = -1.1514610310E-1f;
    private static final float LOG_P2 = 1.1676998740E-1f;
    private static final float LOG_P3 = -1.2420140846E-1f;
    private static final float LOG_P4 = +1.4249322787E-1f;
    private static final float LOG_P5 = -1.6668057665E-1f;
    private static final float LOG_P6 = +2.0000714765E-1f;
    private static final float LOG_P7 = -2.4999993993E-1f;
    private static final float LOG_P8 = +3.3333331174E-1f;
    private static final float LOG_Q1 = -2.12194440e-4f;
    private static final float LOG_Q2 = 0.693359375f;
    private static final float MINUS_DP1 = -0.78515625f;
    private static final float MINUS_DP2 = -2.4187564849853515625e-4f;
    private static final float MINUS_DP3 = -3.77489497744594108e-8f;
    private static final float SINCOF_P0 = -1.9515295891E-4f;
    private static final float SINCOF_P1 = 8.3321608736E-3f;
    private static final float SINCOF_P2 = -1.6666654611E-1f;
    private static final float COSCOF_P0 = 2.443315711809948E-005f;
    private static final float COSCOF_P1 = -1.388731625493765E-003f;
    private static final float COSCOF_P2 = 4.166664568298827E-002f;
    private static final float FOPI = 1.27323954473516f; // 4 / pi
    /** {@code _mm256_set1_ps(2.0f * c10::pi<double>)}: rounded to float once. */
    private static final float TWO_PI_F = (float) (2.0 * Math.PI);

    private final long seed;
    private final int[] mt = new int[N];
    private int left;
    private int next;
    private boolean hasCachedNormal;
    private double cachedNormal;

    /**
     * Creates a generator in the state {@code torch.manual_seed(seed)} leaves the default CPU generator in.
     *
     * @param seed the seed; any {@code long} (torch uses only its low 32 bits)
     */
    public TorchGenerator(long seed) {
        this.seed = seed;
        int s = (int) seed; // seed & 0xffffffff
        mt[0] = s;
        for (int j = 1; j < N; j++) {
            s = 1812433253 * (s ^ (s >>> 30)) + j;
            mt[j] = s;
        }
        left = 1;
        next = 0;
    }

    /** Returns the seed given to the constructor (as {@code torch.initial_seed()}, read as a signed 64-bit value). */
    public long seed() {
        return seed;
    }

    /**
     * Fills {@code dst[offset, offset + count)} exactly as {@code torch.randn(count)} would, continuing this
     * generator's stream. Uses absolute indexing: never changes the buffer's position, limit or mark.
     *
     * @param dst    a writable buffer
     * @param offset absolute index of the first element to write, {@code 0 <= offset <= dst.limit()}
     * @param count  number of values, {@code 0 <= count <= dst.limit() - offset}
     * @throws IllegalArgumentException if an argument is invalid (the generator state is then unchanged)
     */
    public void fillNormal(FloatBuffer dst, int offset, int count) {
        if (dst == null) {
            throw new IllegalArgumentException("dst must be non-null, found null");
        }
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("dst must be writable, found read-only buffer");
        }
        checkRange(offset, count, dst.limit(), "dst.limit()");
        if (count == 0) {
            return;
        }
        if (dst.hasArray()) {
            fillNormalUnchecked(dst.array(), dst.arrayOffset() + offset, count);
        } else {
            float[] tmp = new float[count];
            fillNormalUnchecked(tmp, 0, count);
            dst.put(offset, tmp, 0, count);
        }
    }

    /**
     * Fills {@code dst[offset, offset + count)} exactly as {@code torch.randn(count)} would, continuing this
     * generator's stream.
     *
     * @param dst    the destination array
     * @param offset index of the first element to write, {@code 0 <= offset <= dst.length}
     * @param count  number of values, {@code 0 <= count <= dst.length - offset}
     * @throws IllegalArgumentException if an argument is invalid (the generator state is then unchanged)
     */
    public void fillNormal(float[] dst, int offset, int count) {
        if (dst == null) {
            throw new IllegalArgumentException("dst must be non-null, found null");
        }
        checkRange(offset, count, dst.length, "dst.length");
        fillNormalUnchecked(dst, offset, count);
    }

    /**
     * Fills {@code dst[offset, offset + count)} exactly as {@code tensor.uniform_(from, to)} does for a float32 CPU
     * tensor of {@code count} elements, continuing this generator's stream: each value takes one 32-bit draw
     * {@code x = (random() & (2^24 - 1)) * 2^-24} and is {@code fma(x, to - from, from)} in {@code float}, the one
     * fused multiply-add torch's AVX2 build compiles {@code uniform_real} to (checked bit for bit against
     * PyTorch 1.13.1 on 100,000 draws; a plain multiply-then-add differs in half of them). Used for
     * kaiming-uniform initialisation ({@code torch.nn.init.kaiming_uniform_}). Shares the stream with
     * {@link #fillNormal(float[], int, int)}; does not touch the cached normal sample.
     *
     * @param dst    the destination array
     * @param offset index of the first element to write, {@code 0 <= offset <= dst.length}
     * @param count  number of values, {@code 0 <= count <= dst.length - offset}
     * @param from   lower bound (inclusive), finite
     * @param to     upper bound, finite and {@code >= from}
     * @throws IllegalArgumentException if an argument is invalid (the generator state is then unchanged)
     */
    public void fillUniform(float[] dst, int offset, int count, float from, float to) {
        if (dst == null) {
            throw new IllegalArgumentException("dst must be non-null, found null");
        }
        checkRange(offset, count, dst.length, "dst.length");
        if (!Float.isFinite(from)) {
            throw new IllegalArgumentException("from must be finite, found " + from);
        }
        if (!Float.isFinite(to) || to < from) {
            throw new IllegalArgumentException("to must be finite and >= from (" + from + "), found " + to);
        }
        float range = to - from;
        for (int i = offset; i < offset + count; i++) {
            float x = (nextInt() & 0xffffff) * FLOAT_UNIFORM_SCALE;
            dst[i] = Math.fma(x, range, from);
        }
    }

    private static void checkRange(int offset, int count, int size, String sizeName) {
        if (count < 0) {
            throw new IllegalArgumentException("count must be >= 0, found " + count);
        }
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be >= 0, found " + offset);
        }
        if (offset > size) {
            throw new IllegalArgumentException(
                    "offset must be <= " + sizeName + " (" + size + "), found " + offset);
        }
        if ((long) offset + count > size) {
            throw new IllegalArgumentException("offset + count must be <= " + sizeName + " (" + size
                    + "), found " + ((long) offset + count) + " (offset " + offset + ", count " + count + ")");
        }
    }

    private void fillNormalUnchecked(float[] dst, int offset, int count) {
        if (count == 0) {
            return; // torch.randn(0) consumes nothing
        }
        if (count < VECTOR_THRESHOLD) {
            for (int i = 0; i < count; i++) {
                // transformation::normal(ret, mean = 0, std = 1) in double, then static_cast<float>
                dst[offset + i] = (float) (nextDoubleNormal() * 1.0 + 0.0);
            }
            return;
        }
        int end = offset + count;
        for (int i = offset; i < end; i++) {
            dst[i] = nextFloatUniform();
        }
        for (int i = 0; i + VECTOR_THRESHOLD <= count; i += VECTOR_THRESHOLD) {
            boxMuller16(dst, offset + i);
        }
        if (count % VECTOR_THRESHOLD != 0) {
            // torch recomputes the last 16 values from fresh uniforms
            int base = end - VECTOR_THRESHOLD;
            for (int i = base; i < end; i++) {
                dst[i] = nextFloatUniform();
            }
            boxMuller16(dst, base);
        }
    }

    // ------------------------------------------------------------------------------------------------ mt19937

    private int nextInt() {
        if (--left == 0) {
            nextState();
        }
        int y = mt[next++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y;
    }

    private void nextState() {
        int[] s = mt;
        int k = 0;
        for (; k < N - M; k++) {
            int y = (s[k] & UPPER_MASK) | (s[k + 1] & LOWER_MASK);
            s[k] = s[k + M] ^ (y >>> 1) ^ ((s[k + 1] & 1) != 0 ? MATRIX_A : 0);
        }
        for (; k < N - 1; k++) {
            int y = (s[k] & UPPER_MASK) | (s[k + 1] & LOWER_MASK);
            s[k] = s[k + M - N] ^ (y >>> 1) ^ ((s[k + 1] & 1) != 0 ? MATRIX_A : 0);
        }
        int y = (s[N - 1] & UPPER_MASK) | (s[0] & LOWER_MASK);
        s[N - 1] = s[M - 1] ^ (y >>> 1) ^ ((s[0] & 1) != 0 ? MATRIX_A : 0);
        left = N;
        next = 0;
    }

    /** {@code at::uniform_real_distribution<float>(0, 1)}: 24 low bits of one 32-bit draw. */
    private float nextFloatUniform() {
        return (nextInt() & 0xffffff) * FLOAT_UNIFORM_SCALE;
    }

    /** {@code at::uniform_real_distribution<double>(0, 1)}: 53 low bits of {@code random64()}. */
    private double nextDoubleUniform() {
        long hi = nextInt() & 0xffffffffL;
        long lo = nextInt() & 0xffffffffL;
        return (((hi << 32) | lo) & MASK_53) * DOUBLE_UNIFORM_SCALE;
    }

    /** {@code at::normal_distribution<double>(0, 1)} with the generator's cached second sample. */
    private double nextDoubleNormal() {
        if (hasCachedNormal) {
            hasCachedNormal = false;
            return cachedNormal;
        }
        double u1 = nextDoubleUniform();
        double u2 = nextDoubleUniform();
        double r = Math.sqrt(-2.0 * StrictMath.log(1.0 - u2));
        double theta = 2.0 * Math.PI * u1;
        cachedNormal = r * StrictMath.sin(theta);
        hasCachedNormal = true;
        return r * StrictMath.cos(theta);
    }

    // ----------------------------------------------------------------------------- normal_fill_16_AVX2 port

    /**
     * One lane-by-lane evaluation of torch's {@code normal_fill_16_AVX2} (mean 0, std 1) as compiled by GCC with
     * {@code -mavx2 -mfma}: every multiply/add pair that GCC contracts is a {@link Math#fma} here, every other
     * operation is a single float operation in the same order.
     */
    private static void boxMuller16(float[] d, int base) {
        for (int j = 0; j < 8; j++) {
            float u1 = 1.0f - d[base + j];
            float u2 = d[base + j + 8];
            float radius = (float) Math.sqrt(-2.0f * log256(u1));
            float theta = TWO_PI_F * u2;

            // sincos256_ps(theta)
            float x = Math.abs(theta);
            int signSin = Float.floatToRawIntBits(theta) & 0x80000000;
            int q = ((int) (x * FOPI) + 1) & ~1;
            float y = q;
            int swapSignSin = (q & 4) << 29;
            boolean polyMask = (q & 2) == 0;
            x = Math.fma(y, MINUS_DP1, x);
            x = Math.fma(y, MINUS_DP2, x);
            x = Math.fma(y, MINUS_DP3, x);
            int signCos = (~(q - 2) & 4) << 29;
            signSin ^= swapSignSin;
            float z = x * x;
            float yc = Math.fma(COSCOF_P0, z, COSCOF_P1);
            yc = Math.fma(yc, z, COSCOF_P2);
            float halfZ = z * 0.5f;
            yc = Math.fma(yc * z, z, -halfZ);
            yc = yc + 1.0f;
            float ys = Math.fma(SINCOF_P0, z, SINCOF_P1);
            ys = Math.fma(ys, z, SINCOF_P2);
            ys = Math.fma(ys * z, x, x);
            float ysin2 = polyMask ? ys : 0.0f;
            float ysin1 = polyMask ? 0.0f : yc;
            float sin = Float.intBitsToFloat(Float.floatToRawIntBits(ysin1 + ysin2) ^ signSin);
            float cos = Float.intBitsToFloat(Float.floatToRawIntBits((yc - ysin1) + (ys - ysin2)) ^ signCos);

            // _mm256_fmadd_ps(n, std = 1, mean = 0)
            d[base + j] = radius * cos + 0.0f;
            d[base + j + 8] = radius * sin + 0.0f;
        }
    }

    /** {@code log256_ps} for one lane; the argument here is always in {@code [2^-24, 1]}. */
    private static float log256(float x) {
        boolean invalid = x <= 0.0f;
        if (x < MIN_NORM_POS) {
            x = MIN_NORM_POS;
        }
        int bits = Float.floatToRawIntBits(x);
        int exponent = (bits >>> 23) - 0x7f;
        x = Float.intBitsToFloat((bits & ~0x7f800000) | Float.floatToRawIntBits(0.5f));
        float e = exponent + 1.0f;
        if (x < SQRTHF) {
            e = e - 1.0f;
            x = (x - 1.0f) + x;
        } else {
            x = (x - 1.0f) + 0.0f;
        }
        float z = x * x;
        float y = Math.fma(LOG_P0, x, LOG_P1);
        y = Math.fma(y, x, LOG_P2);
        y = Math.fma(y, x, LOG_P3);
        y = Math.fma(y, x, LOG_P4);
        y = Math.fma(y, x, LOG_P5);
        y = Math.fma(y, x, LOG_P6);
        y = Math.fma(y, x, LOG_P7);
        y = Math.fma(y, x, LOG_P8);
        y = y * x;
        y = Math.fma(y, z, e * LOG_Q1);
        y = Math.fma(-z, 0.5f, y);
        x = x + y;
        x = Math.fma(e, LOG_Q2, x);
        return invalid ? Float.NaN : x;
    }
}
