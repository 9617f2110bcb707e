package org.sd3j.examples.defaultmodel;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import org.sd3j.onnx.safetensors.SafetensorsWriter;

/**
 * Adds float32 tensors with seeded random values to a {@link SafetensorsWriter}, under one key prefix. Values are
 * uniform (from {@link SplittableRandom#nextDouble()}, whose algorithm is specified, so the same seed gives the
 * same bytes on every JDK) with a chosen standard deviation. Not thread-safe.
 */
final class RandomTensors {
    private final SafetensorsWriter writer;
    private final String prefix;
    private final SplittableRandom random;
    private final Map<String, long[]> shapes = new LinkedHashMap<>();
    private long parameters;

    RandomTensors(SafetensorsWriter writer, String prefix, SplittableRandom random) {
        this.writer = writer;
        this.prefix = prefix;
        this.random = random;
    }

    /** Every tensor added so far: full key (prefix included) -> shape, in order. */
    Map<String, long[]> shapes() {
        return Collections.unmodifiableMap(shapes);
    }

    /**
     * A Linear layer for training from scratch: Xavier-uniform weight (bound {@code sqrt(6 / (in + out))}) and zero
     * bias, as DiT initialises its linear layers.
     */
    void xavier(String name, int out, int in) {
        double bound = Math.sqrt(6.0 / (in + out));
        uniform(name + ".weight", bound / Math.sqrt(3), out, in);
        zeros(name + ".bias", out);
    }

    /** A convolution initialised like a Linear over its flattened {@code in x k x k} inputs (DiT's patch embed). */
    void xavierConv(String name, int out, int in, int kernel) {
        double bound = Math.sqrt(6.0 / ((double) in * kernel * kernel + out));
        uniform(name + ".weight", bound / Math.sqrt(3), out, in, kernel, kernel);
        zeros(name + ".bias", out);
    }

    /** Zeros: adaLN-Zero's modulation and the final projection start at zero, so every block starts as identity. */
    void zeros(String name, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        values(name, new float[Math.toIntExact(n)], shape);
    }

    /** Values added so far. */
    long parameters() {
        return parameters;
    }

    /** A Linear layer {@code <name>.weight [out, in]} (fan-in scaled) and {@code <name>.bias [out]}. */
    void linear(String name, int out, int in) {
        linearWeight(name + ".weight", out, in);
        uniform(name + ".bias", 0.02, out);
    }

    /** A weight {@code [out, in]} with std {@code 1/sqrt(in)}: unit-variance inputs give unit-variance outputs. */
    void linearWeight(String name, int out, int in) {
        uniform(name, 1 / Math.sqrt(in), out, in);
    }

    /** A convolution {@code <name>.weight [out, in, k, k]} (fan-in {@code in*k*k}) and {@code <name>.bias}. */
    void conv(String name, int out, int in, int kernel) {
        uniform(name + ".weight", 1 / Math.sqrt((double) in * kernel * kernel), out, in, kernel, kernel);
        uniform(name + ".bias", 0.02, out);
    }

    /** A LayerNorm/GroupNorm affine pair: {@code <name>.weight} near 1 and {@code <name>.bias} near 0. */
    void norm(String name, int channels) {
        scale(name + ".weight", channels);
        uniform(name + ".bias", 0.02, channels);
    }

    /** A scale vector near 1 (RMS norm weights have no bias). */
    void scale(String name, int channels) {
        float[] v = new float[channels];
        for (int i = 0; i < channels; i++) {
            v[i] = (float) (1 + (random.nextDouble() * 2 - 1) * 0.1);
        }
        values(name, v, channels);
    }

    /** Uniform values with mean 0 and standard deviation {@code std}. */
    void uniform(String name, double std, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        float[] v = new float[Math.toIntExact(n)];
        // Uniform on [-a, a] has std a / sqrt(3).
        double a = std * Math.sqrt(3);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((random.nextDouble() * 2 - 1) * a);
        }
        values(name, v, shape);
    }

    /** Given values (e.g. a fixed position embedding or an identity projection). */
    void values(String name, float[] values, long... shape) {
        writer.add(prefix + name, values, shape);
        shapes.put(prefix + name, shape.clone());
        parameters += values.length;
    }
}
