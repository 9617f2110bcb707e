package org.sd3j.train.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.sd3j.Sd3Exception;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where captions come from: the dataset folder's {@code metadata.jsonl} (Hugging Face imagefolder: one JSON object
 * per line with {@code file_name}, relative to the folder, and a caption field, {@code text} by default), else a
 * {@code .txt} file with the image's base name beside it ({@code cat.png} -> {@code cat.txt}). Not thread-safe.
 */
final class Captions {
    static final String METADATA_FILE = "metadata.jsonl";
    private static final Logger LOG = LoggerFactory.getLogger(Captions.class);

    /** A caption, or why there is none. */
    record Lookup(String caption, String missingReason) {
    }

    private final Path folder;
    private final String field;
    private final Map<String, String> metadata;

    private Captions(Path folder, String field, Map<String, String> metadata) {
        this.folder = folder;
        this.field = field;
        this.metadata = metadata;
    }

    /** Reads {@code folder/metadata.jsonl} if there is one; malformed lines are logged and ignored. */
    static Captions load(Path folder, String captionField) {
        Path file = folder.resolve(METADATA_FILE);
        Map<String, String> metadata = new HashMap<>();
        if (Files.isRegularFile(file)) {
            ObjectMapper json = new ObjectMapper();
            try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                int number = 0;
                while ((line = in.readLine()) != null) {
                    number++;
                    if (!line.isBlank()) {
                        parseLine(json, file, number, line, captionField, metadata);
                    }
                }
            } catch (IOException e) {
                throw new Sd3Exception(file + ": cannot read captions: " + e.getMessage(), e);
            }
        }
        return new Captions(folder, captionField, metadata);
    }

    private static void parseLine(ObjectMapper json, Path file, int number, String line, String field,
                                  Map<String, String> out) {
        JsonNode node;
        try {
            node = json.readTree(line);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            LOG.warn("Ignoring line {} of {}: not JSON ({}); fix the line so its image gets this caption", number,
                    file, e.getOriginalMessage());
            return;
        }
        JsonNode name = node == null ? null : node.get("file_name");
        JsonNode text = node == null ? null : node.get(field);
        if (name == null || !name.isTextual() || text == null || !text.isTextual()) {
            LOG.warn("Ignoring line {} of {}: it needs string fields \"file_name\" and \"{}\"", number, file, field);
            return;
        }
        out.put(normalize(name.asText()), text.asText());
    }

    /** {@code ./a\b.png} -> {@code a/b.png}: how metadata names are matched to files. */
    static String normalize(String relativePath) {
        String p = relativePath.replace('\\', '/');
        while (p.startsWith("./")) {
            p = p.substring(2);
        }
        return p;
    }

    /** The caption of the image at {@code relativePath} ({@code /}-separated, relative to the folder). */
    Lookup find(String relativePath) {
        String fromMetadata = metadata.get(relativePath);
        if (fromMetadata != null) {
            return fromMetadata.isBlank()
                    ? new Lookup(null, "its " + METADATA_FILE + " caption is blank")
                    : new Lookup(fromMetadata.strip(), null);
        }
        Path image = folder.resolve(relativePath);
        String name = image.getFileName().toString();
        int dot = name.lastIndexOf('.');
        Path sidecar = image.resolveSibling((dot < 0 ? name : name.substring(0, dot)) + ".txt");
        if (!Files.isRegularFile(sidecar)) {
            return new Lookup(null, "no caption: add " + sidecar.getFileName() + " beside it or a " + METADATA_FILE
                    + " line {\"file_name\": \"" + relativePath + "\", \"" + field + "\": ...}");
        }
        try {
            String text = Files.readString(sidecar, StandardCharsets.UTF_8);
            return text.isBlank()
                    ? new Lookup(null, "its caption file " + sidecar.getFileName() + " is blank")
                    : new Lookup(text.strip(), null);
        } catch (CharacterCodingException e) {
            return new Lookup(null, "its caption file " + sidecar.getFileName() + " is not UTF-8 text");
        } catch (IOException e) {
            return new Lookup(null, "cannot read its caption file " + sidecar.getFileName() + ": " + e.getMessage());
        }
    }
}
