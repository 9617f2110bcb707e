package org.sd3j.examples.shapes;

import java.awt.image.BufferedImage;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.sd3j.Sd3Exception;
import org.sd3j.internal.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes scenes {@code 0..count-1} of a {@link SceneGenerator} as a training folder: {@code 00000.png} with its
 * caption in {@code 00000.txt} (names zero-padded to at least 5 digits), and {@code metadata.jsonl} with one line
 * per image: {@code file_name} and {@code text} (the caption, which the training data reader takes from here), then
 * {@code seed}, {@code index}, {@code style}, {@code kind} ({@code shapes} or {@code sign}), every attribute the scene
 * defines ({@link Attribute#key()}: value as {@link Attribute#format}ted, counts as numbers) and {@code mentioned},
 * the attribute keys the caption states.
 *
 * <p>All or nothing: everything goes into a hidden folder beside the target, which is renamed to the target at the
 * end; the target must not exist yet. Same generator seed, count and size: same files, byte for byte, on one JDK
 * (PNG bytes are the JDK's encoder's; the pixels are the same everywhere).
 *
 * <p>Immutable and thread-safe.
 */
public final class ShapeDatasetWriter {
    public static final String METADATA_FILE = "metadata.jsonl";
    private static final Logger LOG = LoggerFactory.getLogger(ShapeDatasetWriter.class);

    private final SceneRenderer renderer = new SceneRenderer();
    private final ObjectMapper json = new ObjectMapper();
    private final int imageSize;

    /** Images {@code imageSize} px square (e.g. {@link SceneRenderer#DEFAULT_SIZE}). */
    public ShapeDatasetWriter(int imageSize) {
        if (imageSize < SceneRenderer.MIN_SIZE || imageSize > SceneRenderer.MAX_SIZE) {
            throw new IllegalArgumentException("imageSize must be in [" + SceneRenderer.MIN_SIZE + ", "
                    + SceneRenderer.MAX_SIZE + "], found " + imageSize);
        }
        this.imageSize = imageSize;
    }

    /**
     * Writes {@code count} (>= 1) scenes of {@code generator} to {@code folder}, which must not exist.
     *
     * @throws Sd3Exception if writing fails (nothing is left behind) or {@code folder} appears meanwhile
     */
    public void write(Path folder, SceneGenerator generator, int count) {
        Checks.notNull(folder, "folder");
        Checks.notNull(generator, "generator");
        Checks.atLeast(count, 1, "count");
        Path target = folder.toAbsolutePath().normalize();
        if (Files.exists(target)) {
            throw new IllegalArgumentException("folder must not exist yet, found " + target);
        }
        Path tmp = null;
        try {
            Files.createDirectories(target.getParent());
            tmp = Files.createDirectory(target.resolveSibling("." + target.getFileName() + "."
                    + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp"));
            fill(tmp, generator, count);
            try {
                Files.move(tmp, target);
            } catch (FileAlreadyExistsException e) {
                throw new Sd3Exception("Cannot write the dataset: " + target + " appeared while it was being"
                        + " written; remove it or choose another folder", e);
            }
            tmp = null;
        } catch (IOException e) {
            throw new Sd3Exception("Cannot write the dataset to " + target + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                deleteQuietly(tmp);
            }
        }
        LOG.info("Wrote {} captioned scenes ({} px, seed {}) to {}", count, imageSize, generator.seed(), target);
    }

    private void fill(Path dir, SceneGenerator generator, int count) throws IOException {
        int digits = Math.max(5, String.valueOf(count - 1).length());
        try (BufferedWriter metadata = Files.newBufferedWriter(dir.resolve(METADATA_FILE), StandardCharsets.UTF_8)) {
            for (int i = 0; i < count; i++) {
                CaptionedScene captioned = generator.get(i);
                String name = String.format("%0" + digits + "d", i);
                BufferedImage image = renderer.render(captioned.scene(), imageSize);
                if (!ImageIO.write(image, "png", dir.resolve(name + ".png").toFile())) {
                    throw new IOException("this JDK has no PNG writer");
                }
                Files.writeString(dir.resolve(name + ".txt"), captioned.caption() + "\n", StandardCharsets.UTF_8);
                metadata.write(line(name + ".png", generator.seed(), i, captioned));
                metadata.write('\n');
            }
        }
    }

    /** One {@code metadata.jsonl} line, without the line end. */
    String line(String fileName, long seed, long index, CaptionedScene captioned) throws JsonProcessingException {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("file_name", fileName);
        fields.put("text", captioned.caption());
        fields.put("seed", seed);
        fields.put("index", index);
        fields.put("style", captioned.style().name().toLowerCase(java.util.Locale.ROOT));
        fields.put("kind", captioned.scene() instanceof SignScene ? "sign" : "shapes");
        for (Map.Entry<Attribute, Object> e : captioned.scene().attributes().entrySet()) {
            Object v = e.getValue();
            fields.put(e.getKey().key(), v instanceof Integer ? v : Attribute.format(v));
        }
        List<String> mentioned = new ArrayList<>();
        for (Attribute a : captioned.mentioned()) {
            mentioned.add(a.key());
        }
        fields.put("mentioned", mentioned);
        return json.writeValueAsString(fields);
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            LOG.warn("Could not remove the unfinished dataset {}: {}; delete it by hand", dir, e.getMessage());
        }
    }
}
