package org.sd3j.onnx.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalDouble;
import java.util.OptionalInt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.sd3j.ModelLoadException;

/**
 * Sampling defaults from a model folder: {@code scheduler/scheduler_config.json} (diffusers'
 * {@code FlowMatchEulerDiscreteScheduler}: {@code shift}, {@code use_dynamic_shifting}, ...), the native
 * resolution from {@code transformer/config.json}'s {@code sample_size} (latent side; SD3: 128, i.e. 1024 pixels),
 * and the guidance scale its maker recommends, from {@code model_index.json}'s {@code _sd3j.guidance} (diffusers
 * has no place for one; SD3's 7.0 oversaturates small models).
 *
 * @param shift              the static flow shift ({@code 3.0} when absent)
 * @param useDynamicShifting whether the model was configured for resolution-dependent (Flux-style) shifting
 * @param sampleSize         latent side of the native resolution, when the folder says
 * @param guidance           the recommended classifier-free guidance scale, when the folder says
 */
public record SchedulerConfig(double shift, boolean useDynamicShifting, OptionalInt sampleSize,
                              OptionalDouble guidance) {
    /** SD3's shift, used when nothing says otherwise. */
    public static final double DEFAULT_SHIFT = 3.0;
    /** The key under {@code model_index.json}'s {@code _sd3j} object that holds the recommended guidance. */
    public static final String GUIDANCE_KEY = "guidance";

    /** What a folder without these files gets. */
    public static SchedulerConfig defaults() {
        return new SchedulerConfig(DEFAULT_SHIFT, false, OptionalInt.empty(), OptionalDouble.empty());
    }

    /** Reads {@code scheduler/scheduler_config.json} and {@code transformer/config.json} under {@code root}. */
    public static SchedulerConfig read(Path root) {
        Path scheduler = root.resolve("scheduler").resolve("scheduler_config.json");
        double shift = DEFAULT_SHIFT;
        boolean dynamic = false;
        JsonNode s = json(scheduler);
        if (s != null) {
            shift = number(s, "shift", scheduler, DEFAULT_SHIFT);
            if (!(shift > 0) || !Double.isFinite(shift)) {
                throw new ModelLoadException(scheduler, "\"shift\" must be a finite number > 0, found " + shift);
            }
            JsonNode d = s.get("use_dynamic_shifting");
            dynamic = d != null && d.asBoolean(false);
        }
        Path transformer = root.resolve("transformer").resolve("config.json");
        OptionalInt sample = OptionalInt.empty();
        JsonNode t = json(transformer);
        if (t != null && t.has("sample_size")) {
            double v = number(t, "sample_size", transformer, 0);
            if (v < 1 || v != Math.rint(v)) {
                throw new ModelLoadException(transformer, "\"sample_size\" must be a positive integer, found " + v);
            }
            sample = OptionalInt.of((int) v);
        }
        return new SchedulerConfig(shift, dynamic, sample, guidance(root.resolve("model_index.json")));
    }

    private static OptionalDouble guidance(Path index) {
        JsonNode root = json(index);
        JsonNode sd3j = root == null ? null : root.get("_sd3j");
        if (sd3j == null || !sd3j.isObject() || !sd3j.has(GUIDANCE_KEY)) {
            return OptionalDouble.empty();
        }
        double g = number(sd3j, GUIDANCE_KEY, index, Double.NaN);
        if (!Double.isFinite(g) || g < 0) {
            throw new ModelLoadException(index, "\"_sd3j\": {\"" + GUIDANCE_KEY + "\"} must be a finite number >= 0, "
                    + "found " + sd3j.get(GUIDANCE_KEY));
        }
        return OptionalDouble.of(g);
    }

    /** The native image side in pixels ({@code sampleSize * downscale}), when known. */
    public OptionalInt imageSize(int downscale) {
        return sampleSize.isPresent() ? OptionalInt.of(sampleSize.getAsInt() * downscale) : OptionalInt.empty();
    }

    private static JsonNode json(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            JsonNode n = new ObjectMapper().readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw new ModelLoadException(file, "expected a JSON object, found " + (n == null ? "nothing" : n));
            }
            return n;
        } catch (IOException e) {
            throw new ModelLoadException(file, "invalid JSON: " + e.getMessage(), e);
        }
    }

    private static double number(JsonNode node, String field, Path file, double fallback) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber()) {
            throw new ModelLoadException(file, "\"" + field + "\" must be a number, found " + v);
        }
        return v.asDouble();
    }
}
