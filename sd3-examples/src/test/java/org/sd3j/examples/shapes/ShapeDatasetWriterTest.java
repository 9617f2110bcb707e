package org.sd3j.examples.shapes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.Sd3Exception;
import org.sd3j.train.data.AspectBuckets;
import org.sd3j.train.data.DatasetItem;
import org.sd3j.train.data.ImageCaptionDataset;

class ShapeDatasetWriterTest {
    private static final int COUNT = 24;

    @TempDir
    Path tmp;

    @Test
    void writesImagesCaptionsAndGroundTruth() throws IOException {
        SceneGenerator generator = new SceneGenerator(8);
        Path folder = tmp.resolve("shapes");
        new ShapeDatasetWriter(64).write(folder, generator, COUNT);

        List<String> lines = Files.readAllLines(folder.resolve("metadata.jsonl"), StandardCharsets.UTF_8);
        assertThat(lines).hasSize(COUNT);
        ObjectMapper json = new ObjectMapper();
        SceneRenderer renderer = new SceneRenderer();
        for (int i = 0; i < COUNT; i++) {
            CaptionedScene expected = generator.get(i);
            String name = String.format("%05d", i);
            assertThat(Files.readString(folder.resolve(name + ".txt"))).isEqualTo(expected.caption() + "\n");
            BufferedImage image = ImageIO.read(folder.resolve(name + ".png").toFile());
            assertThat(image.getRGB(0, 0, 64, 64, null, 0, 64)).isEqualTo(withAlpha(
                    renderer.renderRgb(expected.scene(), 64)));

            JsonNode line = json.readTree(lines.get(i));
            assertThat(line.get("file_name").asText()).isEqualTo(name + ".png");
            assertThat(line.get("text").asText()).isEqualTo(expected.caption());
            assertThat(line.get("seed").asLong()).isEqualTo(8);
            assertThat(line.get("index").asInt()).isEqualTo(i);
            assertThat(line.get("style").asText()).isEqualTo(expected.style() == CaptionStyle.TERSE ? "terse"
                    : "detailed");
            assertThat(line.get("kind").asText()).isEqualTo(expected.scene() instanceof SignScene ? "sign" : "shapes");
            for (Map.Entry<Attribute, Object> e : expected.scene().attributes().entrySet()) {
                assertThat(line.get(e.getKey().key()).asText()).isEqualTo(Attribute.format(e.getValue()));
            }
            assertThat(line.get("mentioned")).hasSize(expected.mentioned().size());
        }
        try (Stream<Path> files = Files.list(folder)) {
            assertThat(files).hasSize(2 * COUNT + 1);
        }
    }

    @Test
    void trainingDataReaderTakesTheCaptions() {
        SceneGenerator generator = new SceneGenerator(8);
        Path folder = tmp.resolve("shapes");
        new ShapeDatasetWriter(64).write(folder, generator, COUNT);
        List<DatasetItem> items = ImageCaptionDataset.scan(folder, AspectBuckets.single(64, 64)).items();
        assertThat(items).hasSize(COUNT);
        for (int i = 0; i < COUNT; i++) {
            assertThat(items.get(i).caption()).isEqualTo(generator.get(i).caption());
        }
    }

    @Test
    void sameSeedWritesTheSameBytes() throws IOException {
        new ShapeDatasetWriter(64).write(tmp.resolve("a"), new SceneGenerator(3), COUNT);
        new ShapeDatasetWriter(64).write(tmp.resolve("b"), new SceneGenerator(3), COUNT);
        try (Stream<Path> files = Files.list(tmp.resolve("a"))) {
            for (Path a : files.toList()) {
                assertThat(Files.readAllBytes(tmp.resolve("b").resolve(a.getFileName())))
                        .as("%s", a.getFileName()).isEqualTo(Files.readAllBytes(a));
            }
        }
    }

    @Test
    void refusesAnExistingFolderAndLeavesNothingBehind() throws IOException {
        Path folder = Files.createDirectory(tmp.resolve("taken"));
        assertThatThrownBy(() -> new ShapeDatasetWriter(64).write(folder, new SceneGenerator(1), 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("folder must not exist yet, found " + folder.toAbsolutePath());
        try (Stream<Path> files = Files.list(tmp)) {
            assertThat(files).containsExactly(folder);
        }
    }

    @Test
    void failureLeavesNoHalfWrittenFolder() throws IOException {
        Path notAFolder = Files.writeString(tmp.resolve("file"), "x");
        assertThatThrownBy(() -> new ShapeDatasetWriter(64).write(notAFolder.resolve("data"), new SceneGenerator(1),
                3)).isInstanceOf(Sd3Exception.class).hasMessageStartingWith("Cannot write the dataset to ");
        try (Stream<Path> files = Files.list(tmp)) {
            assertThat(files).containsExactly(notAFolder);
        }
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> new ShapeDatasetWriter(8)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("imageSize must be in [16, 1024], found 8");
        assertThatThrownBy(() -> new ShapeDatasetWriter(64).write(tmp.resolve("x"), new SceneGenerator(1), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("count must be >= 1, found 0");
    }

    private static int[] withAlpha(int[] rgb) {
        int[] argb = new int[rgb.length];
        for (int i = 0; i < rgb.length; i++) {
            argb[i] = 0xff000000 | rgb[i];
        }
        return argb;
    }
}
