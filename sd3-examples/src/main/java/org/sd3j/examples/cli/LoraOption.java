package org.sd3j.examples.cli;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.lora.LoraRequest;
import org.sd3j.onnx.lora.MergedLora;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code --lora FILE[:WEIGHT]}: a LoRA file and its weight (default 1). The weight is what follows the last colon
 * when that parses as a number, so Windows paths ({@code C:\loras\fox.safetensors}) need no weight to be read
 * right. Also prints what merging did.
 */
final class LoraOption {
    private LoraOption() {
    }

    /** Parses {@code fox.safetensors}, {@code fox.safetensors:0.8} or {@code loras/fox.safetensors:-1}. */
    static LoraRequest parse(String text) {
        String file = text;
        double weight = 1.0;
        int colon = text.lastIndexOf(':');
        if (colon > 0) {
            try {
                weight = Double.parseDouble(text.substring(colon + 1));
                file = text.substring(0, colon);
            } catch (NumberFormatException notAWeight) {
                // Part of the path (a drive letter, or a colon in a file name).
            }
        }
        if (!Double.isFinite(weight)) {
            throw new IllegalArgumentException("--lora weight must be finite, found '" + text + "'");
        }
        Path path;
        try {
            path = Path.of(file);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("--lora must be FILE[:WEIGHT], found '" + text + "'");
        }
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("--lora must name an existing file, found '" + file + "'"
                    + (Files.exists(path) ? " (a folder)" : ""));
        }
        return new LoraRequest(path, weight);
    }

    /**
     * One line per LoRA file: what was merged into which part, then what could not be mapped (ONNX folders whose
     * weight names do not say what they are).
     */
    static List<String> describe(List<MergedLora> merged) {
        Map<Path, List<MergedLora>> byFile = new LinkedHashMap<>();
        merged.forEach(m -> byFile.computeIfAbsent(m.file(), f -> new ArrayList<>()).add(m));
        List<String> lines = new ArrayList<>();
        byFile.forEach((file, parts) -> {
            StringBuilder sb = new StringBuilder("LoRA " + file + " (weight "
                    + Units.number(parts.get(0).weight()) + "): merged ");
            for (int i = 0; i < parts.size(); i++) {
                MergedLora m = parts.get(i);
                sb.append(i == 0 ? "" : ", ").append(m.applied()).append(" adapters into the ")
                        .append(m.component().part());
            }
            lines.add(sb.toString());
            for (MergedLora m : parts) {
                if (!m.unmapped().isEmpty()) {
                    lines.add("  not applied: " + m.unmapped().size() + " " + m.component().part() + " adapters"
                            + " whose weights the model does not name recognisably: " + String.join(", ",
                            m.unmapped()));
                }
            }
        });
        return lines;
    }

    /** picocli's converter for {@code --lora}: a malformed value or a missing file is a usage error. */
    static final class Converter implements ITypeConverter<LoraRequest> {
        @Override
        public LoraRequest convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
