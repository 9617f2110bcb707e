package org.sd3j.onnx.mmdit;

/**
 * The sinusoidal timestep embedding's frequencies, {@code exp(-ln(10000) * i / half)}, evaluated in float32 the
 * way the reference's torch code does ({@code -math.log(10000) * arange(half, float32) / half}, then exp).
 */
final class TimestepFrequencies {
    private TimestepFrequencies() {
    }

    static float[] of(int half) {
        float factor = (float) -Math.log(10000.0);
        float[] f = new float[half];
        for (int i = 0; i < half; i++) {
            float arg = factor * i / half;
            f[i] = (float) Math.exp(arg);
        }
        return f;
    }
}
