package org.sd3j.examples.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.sd3j.onnx.model.ModelDescription;
import org.sd3j.onnx.model.ModelInspector;

/**
 * Formats a {@link ModelDescription} for {@code sd3 inspect}:
 * <pre>
 * Model:      sd3-medium-onnx (ONNX folder)
 * Shift:      3.0 (scheduler/scheduler_config.json)
 * Tokenizers: tokenizer (CLIP-L), tokenizer_2 (CLIP-G), tokenizer_3 (T5)
 * Weights:    7.69B parameters, 15.4 GB
 *
 * transformer (MMDiT): SD3 depth 24
 *   depth: 24, hidden size: 1536, heads: 24, QK-norm: no, MMDiT-X layers: none, position grid: 192x192, ...
 *   parameters: 2.03B (float16)
 *   files: transformer/model.onnx (1.20 MB), transformer/model.onnx_data (4.17 GB)
 *   inputs:
 *     hidden_states          float32  [batch, 16, height, width]
 *   ...
 * Absent: text_encoder_3 (T5): its part of the conditioning is zeros
 * </pre>
 */
final class ModelDescriptionPrinter {
    private static final int WIDTH = 110;
    private static final Map<String, String> IF_ABSENT = Map.of(
            "text_encoder", "its part of the conditioning is zeros",
            "text_encoder_2", "its part of the conditioning is zeros",
            "text_encoder_3", "its part of the conditioning is zeros",
            ModelInspector.VAE_ENCODER, "no img2img or inpainting",
            ModelInspector.VAE_DECODER, "generation gives latents only, no image");
    private static final Map<String, String> TOKENIZER_ROLES = Map.of(
            "tokenizer", "CLIP-L", "tokenizer_2", "CLIP-G", "tokenizer_3", "T5");

    private final PrintWriter out;

    ModelDescriptionPrinter(PrintWriter out) {
        this.out = out;
    }

    void print(ModelDescription d) {
        out.println("Model:      " + d.path() + " (" + LoadedModel.formatName(d.format()) + ")");
        out.println("Shift:      " + d.shift() + " (" + d.shiftSource() + ")");
        out.println("Tokenizers: " + tokenizers(d));
        long parameters = d.components().stream().mapToLong(ModelDescription.Component::parameterCount).sum();
        long bytes = d.components().stream().mapToLong(ModelDescription.Component::weightBytes).sum();
        out.println("Weights:    " + Units.count(parameters) + " parameters, " + Units.bytes(bytes));
        for (ModelDescription.Component c : d.components()) {
            out.println();
            component(c);
        }
        if (!d.absent().isEmpty()) {
            out.println();
            for (String name : d.absent()) {
                out.println("Absent: " + name + " (" + ModelInspector.kind(name) + "): " + IF_ABSENT.getOrDefault(name, "not there"));
            }
        }
        out.flush();
    }

    private static String tokenizers(ModelDescription d) {
        if (d.tokenizers().isEmpty()) {
            return d.format() == org.sd3j.onnx.model.Sd3Model.Format.CHECKPOINT
                    ? "none (a single-file checkpoint carries none; 'sd3 convert --tokenizers DIR' adds them)"
                    : "none";
        }
        List<String> named = new ArrayList<>();
        for (String t : d.tokenizers()) {
            named.add(t + " (" + TOKENIZER_ROLES.getOrDefault(t, "?") + ")");
        }
        return String.join(", ", named);
    }

    private void component(ModelDescription.Component c) {
        out.println(c.name() + " (" + c.kind() + "): " + c.variant());
        if (!c.details().isEmpty()) {
            List<String> pairs = new ArrayList<>();
            c.details().forEach((k, v) -> pairs.add(k + ": " + v));
            wrapped("  ", pairs);
        }
        out.println("  parameters: " + parameters(c));
        List<String> files = new ArrayList<>();
        c.files().forEach((f, size) -> files.add(f + " (" + Units.bytes(size) + ")"));
        wrapped("  files: ", files);
        values("inputs", c.inputs());
        values("outputs", c.outputs());
        for (String p : c.problems()) {
            out.println("  note: " + p);
        }
    }

    /** {@code 2.03B (float16)} or {@code 2.03B (float16 2.02B, float32 8.10M)}, and the weights' size. */
    static String parameters(ModelDescription.Component c) {
        if (c.parameters().isEmpty()) {
            return "unknown";
        }
        String types;
        if (c.parameters().size() == 1) {
            types = c.parameters().keySet().iterator().next();
        } else {
            List<String> parts = new ArrayList<>();
            c.parameters().forEach((type, n) -> parts.add(type + " " + Units.count(n)));
            types = String.join(", ", parts);
        }
        return Units.count(c.parameterCount()) + " (" + types + "), " + Units.bytes(c.weightBytes());
    }

    private void values(String title, List<ModelDescription.GraphValue> values) {
        if (values.isEmpty()) {
            return;
        }
        out.println("  " + title + ":");
        int nameWidth = values.stream().mapToInt(v -> v.name().length()).max().orElse(0);
        int typeWidth = values.stream().mapToInt(v -> v.elementType().length()).max().orElse(0);
        for (ModelDescription.GraphValue v : values) {
            out.println("    " + pad(v.name(), nameWidth) + "  " + pad(v.elementType(), typeWidth) + "  "
                    + v.shapeText());
        }
    }

    /** {@code items} joined by ", " after {@code lead}, wrapped at {@link #WIDTH} with continuation indent. */
    private void wrapped(String lead, List<String> items) {
        String indent = " ".repeat(lead.length() + (lead.isBlank() ? 0 : 2));
        StringBuilder line = new StringBuilder(lead);
        boolean first = true;
        for (String item : items) {
            String piece = first ? item : ", " + item;
            if (!first && line.length() + piece.length() > WIDTH) {
                out.println(line.append(','));
                line = new StringBuilder(indent).append(item);
            } else {
                line.append(piece);
            }
            first = false;
        }
        out.println(line);
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(Math.max(0, width - s.length()));
    }
}
