package org.sd3j.onnx.model;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What {@link ModelInspector} found in a model file or folder, read from headers only (safetensors headers, ONNX
 * graph declarations): no weight is loaded and no session is created. Meant for people ({@code sd3 inspect}) and
 * for checks before a long load. Immutable.
 *
 * @param path       the inspected file or folder
 * @param format     checkpoint, diffusers folder or ONNX folder
 * @param components the components present, in {@link ModelInspector#COMPONENTS} order
 * @param absent     the names of the components of {@link ModelInspector#COMPONENTS} that are not there
 * @param tokenizers the tokenizer folders present ({@code tokenizer}, {@code tokenizer_2}, {@code tokenizer_3});
 *                   a single-file checkpoint never has any
 * @param shift      the flow shift a pipeline built from this model uses
 * @param shiftSource where {@code shift} comes from: {@code scheduler/scheduler_config.json}, or a note that it is
 *                   SD3's default
 */
public record ModelDescription(Path path, Sd3Model.Format format, List<Component> components, List<String> absent,
                               List<String> tokenizers, double shift, String shiftSource) {
    public ModelDescription {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(format, "format");
        components = List.copyOf(components);
        absent = List.copyOf(absent);
        tokenizers = List.copyOf(tokenizers);
        Objects.requireNonNull(shiftSource, "shiftSource");
    }

    /** The component called {@code name} ({@code transformer}, {@code text_encoder}, ...), if present. */
    public java.util.Optional<Component> component(String name) {
        return components.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    /**
     * One component.
     *
     * @param name        its folder name in a diffusers / ONNX folder: {@code transformer}, {@code text_encoder}
     *                    (CLIP-L), {@code text_encoder_2} (CLIP-G), {@code text_encoder_3} (T5),
     *                    {@code vae_encoder}, {@code vae_decoder}
     * @param kind        what it is: {@code MMDiT}, {@code CLIP-L}, {@code CLIP-G}, {@code T5}, {@code VAE encoder},
     *                    {@code VAE decoder}
     * @param variant     a one-line summary of its architecture (e.g. {@code SD3.5 (QK-norm) depth 38}), or
     *                    {@code unrecognized} when the weights did not tell (see {@code problems})
     * @param details     architecture properties for display, in a stable order (e.g. depth, hidden size, heads)
     * @param files       the files holding it (paths relative to the inspected folder, or the checkpoint's file
     *                    name) and their sizes in bytes
     * @param parameters  parameter (weight element) counts by element type ({@code float32}, {@code float16},
     *                    {@code bfloat16}, ...), largest first
     * @param weightBytes the bytes its weights take
     * @param inputs      graph inputs of an ONNX file (empty for safetensors weights)
     * @param outputs     graph outputs of an ONNX file (empty for safetensors weights)
     * @param problems    what could not be recognized, one message each (empty when everything was)
     */
    public record Component(String name, String kind, String variant, Map<String, String> details,
                            Map<String, Long> files, Map<String, Long> parameters, long weightBytes,
                            List<GraphValue> inputs, List<GraphValue> outputs, List<String> problems) {
        public Component {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(variant, "variant");
            details = Collections.unmodifiableMap(new LinkedHashMap<>(details));
            files = Collections.unmodifiableMap(new LinkedHashMap<>(files));
            parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
            problems = List.copyOf(problems);
        }

        /** All parameters, whatever their element type. */
        public long parameterCount() {
            return parameters.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /**
     * A declared graph input or output.
     *
     * @param name        its name
     * @param elementType {@code float32}, {@code float16}, {@code int64}, ...
     * @param shape       one entry per dimension: its size, its symbolic name (e.g. {@code batch}) or {@code ?}
     */
    public record GraphValue(String name, String elementType, List<String> shape) {
        public GraphValue {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(elementType, "elementType");
            shape = List.copyOf(shape);
        }

        /** {@code [batch, 16, height, width]}. */
        public String shapeText() {
            return "[" + String.join(", ", shape) + "]";
        }
    }
}
