package org.sd3j.train.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.sd3j.Sd3Exception;
import org.sd3j.internal.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A preference dataset read from a JSON-lines file, one pair per line, in either of two forms:
 * <ul>
 *   <li>the project's: {@code {"prompt": "...", "chosen": "a.png", "rejected": "b.png"}};</li>
 *   <li>Pick-a-Pic's columns: {@code {"caption": "...", "jpg_0": "a.jpg", "jpg_1": "b.jpg", "label_0": 1}},
 *       where {@code label_0} 1 prefers {@code jpg_0}, 0 prefers {@code jpg_1}, and 0.5 (a tie) drops the pair.</li>
 * </ul>
 * Image paths are relative to the file's folder (or absolute). Blank lines are ignored. Immutable.
 *
 * @param file    the file read (absolute, normalized)
 * @param pairs   the pairs, in file order
 * @param ties    Pick-a-Pic lines dropped as ties
 */
public record PreferencePairs(Path file, List<PreferencePair> pairs, int ties) {
    private static final Logger LOG = LoggerFactory.getLogger(PreferencePairs.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    public PreferencePairs {
        Checks.notNull(file, "file");
        pairs = List.copyOf(Checks.notNull(pairs, "pairs"));
    }

    /** The folder image paths are relative to. */
    public Path folder() {
        return file.getParent();
    }

    /**
     * Reads {@code file}. Images are not opened here (the cache build reads and skips bad ones, counted).
     *
     * @throws Sd3Exception if the file cannot be read, a line is not a JSON object, or a line has neither form's
     *                      fields (the message names the file, the line and what was expected)
     */
    public static PreferencePairs read(Path file) {
        Checks.notNull(file, "file");
        Path abs = file.toAbsolutePath().normalize();
        List<PreferencePair> pairs = new ArrayList<>();
        int ties = 0;
        try (BufferedReader in = Files.newBufferedReader(abs, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw bad(abs, number, "not JSON (" + e.getOriginalMessage() + ")");
                }
                if (node == null || !node.isObject()) {
                    throw bad(abs, number, "not a JSON object");
                }
                Path folder = abs.getParent();
                if (node.has("chosen") || node.has("rejected") || node.has("prompt")) {
                    pairs.add(new PreferencePair(text(node, "prompt", abs, number),
                            folder.resolve(text(node, "chosen", abs, number)).normalize(),
                            folder.resolve(text(node, "rejected", abs, number)).normalize()));
                } else if (node.has("label_0") || node.has("jpg_0") || node.has("caption")) {
                    JsonNode label = node.get("label_0");
                    if (label == null || !label.isNumber()) {
                        throw bad(abs, number, "label_0 must be a number (1, 0 or 0.5), found " + label);
                    }
                    double l = label.asDouble();
                    String caption = text(node, "caption", abs, number);
                    Path first = folder.resolve(text(node, "jpg_0", abs, number)).normalize();
                    Path second = folder.resolve(text(node, "jpg_1", abs, number)).normalize();
                    if (l == 0.5) {
                        ties++;
                    } else if (l == 1) {
                        pairs.add(new PreferencePair(caption, first, second));
                    } else if (l == 0) {
                        pairs.add(new PreferencePair(caption, second, first));
                    } else {
                        throw bad(abs, number, "label_0 must be 1, 0 or 0.5, found " + l);
                    }
                } else {
                    throw bad(abs, number, "expected the fields prompt, chosen, rejected (or Pick-a-Pic's caption, "
                            + "jpg_0, jpg_1, label_0), found " + fieldNames(node));
                }
            }
        } catch (IOException e) {
            throw new Sd3Exception("Cannot read the preference file " + abs + ": " + e.getMessage(), e);
        }
        if (ties > 0) {
            LOG.info("{}: {} pairs, {} ties dropped", abs, pairs.size(), ties);
        }
        return new PreferencePairs(abs, pairs, ties);
    }

    private static String text(JsonNode node, String field, Path file, int line) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) {
            throw bad(file, line, field + " must be a non-blank string, found " + v);
        }
        return v.asText();
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static Sd3Exception bad(Path file, int line, String what) {
        return new Sd3Exception(file + " line " + line + ": " + what);
    }
}
