package org.sd3j.onnx.convert;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import org.sd3j.ModelLoadException;
import org.sd3j.Sd3Exception;
import org.sd3j.internal.AtomicFiles;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.mmdit.MmditConfig;
import org.sd3j.onnx.mmdit.MmditGraph;
import org.sd3j.onnx.mmdit.MmditWeights;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Converts SD3 weights (a single-file checkpoint, a sharded index, a diffusers model folder or its
 * {@code transformer/} folder) into an optimum-style ONNX folder:
 * <pre>
 *   transformer/model.onnx (+ model.onnx_data)   hidden_states, timestep, encoder_hidden_states,
 *                                                pooled_projections -> out_hidden_states
 *   scheduler/scheduler_config.json             {"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": 3.0, ...}
 * </pre>
 * Text encoders and the VAE join in a later version; a transformer-only checkpoint gives a transformer-only
 * folder. Each file is written to a temp file and moved into place. Thread-safe (stateless).
 */
public final class CheckpointConverter {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointConverter.class);

    /** What a conversion produced. */
    public record Result(Path outputDir, MmditConfig transformer, long weightBytes, double shift) {
    }

    private CheckpointConverter() {
    }

    /**
     * Converts {@code input} into {@code outputDir} (created if missing; existing files of the same names are
     * replaced).
     */
    public static Result convert(Path input, Path outputDir) {
        if (!Files.exists(input)) {
            throw new ModelLoadException(input, "no such file or folder");
        }
        Path transformerSource = input;
        double shift = 3.0;
        if (Files.isDirectory(input) && Files.isDirectory(input.resolve("transformer"))) {
            transformerSource = input.resolve("transformer");
            shift = readShift(input.resolve("scheduler").resolve("scheduler_config.json"), shift);
        }
        try (TensorSource source = Safetensors.open(transformerSource)) {
            // float32 compute; float16 weights stay float16 in the data file and are cast in the graph.
            MmditWeights weights = MmditWeights.of(source, transformerSource, ElementType.FLOAT).keepingStoredType();
            MmditConfig config = MmditConfig.infer(weights);
            OnnxGraph graph = MmditGraph.build(config, weights, Set.of(), MmditGraph.Attention.PRIMITIVE);
            Path transformerDir = outputDir.resolve("transformer");
            Files.createDirectories(transformerDir);
            graph.save(transformerDir.resolve("model.onnx"));
            writeJson(outputDir.resolve("scheduler").resolve("scheduler_config.json"), schedulerConfig(shift));
            LOG.info("Converted {} ({}, {}) to {}", input, config.variant(), weights.describeLayout(), outputDir);
            return new Result(outputDir, config, graph.weightBytes(), shift);
        } catch (IOException e) {
            throw new Sd3Exception("Cannot write " + outputDir + ": " + e.getMessage(), e);
        }
    }

    private static double readShift(Path schedulerConfig, double fallback) {
        if (!Files.exists(schedulerConfig)) {
            return fallback;
        }
        try {
            JsonNode shift = new ObjectMapper().readTree(schedulerConfig.toFile()).get("shift");
            if (shift != null && !shift.isNumber()) {
                throw new ModelLoadException(schedulerConfig, "\"shift\" must be a number, found " + shift);
            }
            return shift == null ? fallback : shift.asDouble();
        } catch (IOException e) {
            throw new ModelLoadException(schedulerConfig, "invalid JSON: " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> schedulerConfig(double shift) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_class_name", "FlowMatchEulerDiscreteScheduler");
        m.put("num_train_timesteps", 1000);
        m.put("shift", shift);
        return m;
    }

    private static void writeJson(Path file, Object value) throws IOException {
        AtomicFiles.write(file, tmp -> new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .writeValue(tmp.toFile(), value));
    }
}
