package org.sd3j.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;

class PngWriterTest {
    private static final String PARAMETERS = "prompt\nNegative prompt: neg\n"
            + "Steps: 4, Sampler: euler, CFG scale: 7.0, Seed: 42, Size: 64x64, Shift: 3.0, Model: sd3_medium";

    @TempDir
    Path dir;

    private static Image image(int seed) {
        byte[] rgb = new byte[8 * 4 * 3];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) (i * 31 + seed);
        }
        return Image.of(8, 4, rgb);
    }

    private List<Path> files() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    /** The chunk types in a PNG file, in order. */
    private static List<String> chunkTypes(Path file) throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        List<String> types = new java.util.ArrayList<>();
        int pos = 8;
        while (pos + 8 <= bytes.length) {
            int length = ((bytes[pos] & 0xff) << 24) | ((bytes[pos + 1] & 0xff) << 16) | ((bytes[pos + 2] & 0xff) << 8)
                    | (bytes[pos + 3] & 0xff);
            types.add(new String(bytes, pos + 4, 4, StandardCharsets.ISO_8859_1));
            pos += 12 + length;
        }
        return types;
    }

    @Test
    void embedsTheParametersInATextChunk() throws Exception {
        Path file = dir.resolve("out.png");

        image(0).writePng(file, Map.of("parameters", PARAMETERS));

        assertThat(Image.readPngText(file)).containsExactly(Map.entry("parameters", PARAMETERS));
        assertThat(chunkTypes(file)).contains("tEXt").doesNotContain("iTXt");
    }

    @Test
    void writesThePixels() {
        Path file = dir.resolve("out.png");
        Image image = image(3);

        image.writePng(file);

        assertThat(Image.read(file).toRgbBytes()).isEqualTo(image.toRgbBytes());
        assertThat(Image.readPngText(file)).isEmpty();
    }

    @Test
    void nonLatin1TextRoundTripsThroughAnInternationalChunk() throws Exception {
        Path file = dir.resolve("out.png");
        String prompt = "一只红狐狸 in the snow, «ünïcødé» 🦊\nSteps: 4";

        image(0).writePng(file, Map.of("parameters", prompt));

        assertThat(Image.readPngText(file)).containsEntry("parameters", prompt);
        assertThat(chunkTypes(file)).contains("iTXt");
    }

    @Test
    void latin1AccentsStayInATextChunk() throws Exception {
        Path file = dir.resolve("out.png");

        image(0).writePng(file, Map.of("parameters", "café crème"));

        assertThat(Image.readPngText(file)).containsEntry("parameters", "café crème");
        assertThat(chunkTypes(file)).contains("tEXt").doesNotContain("iTXt");
    }

    @Test
    void keepsSeveralEntries() {
        Path file = dir.resolve("out.png");
        Map<String, String> text = new LinkedHashMap<>();
        text.put("parameters", "a");
        text.put("Software", "sd3j");
        text.put("Comment", "狐");

        image(0).writePng(file, text);

        assertThat(Image.readPngText(file)).containsOnly(Map.entry("parameters", "a"), Map.entry("Software", "sd3j"),
                Map.entry("Comment", "狐"));
    }

    @Test
    void leavesNoTemporaryFile() throws Exception {
        Path file = dir.resolve("out.png");

        image(0).writePng(file, Map.of("parameters", PARAMETERS));

        assertThat(files()).containsExactly(file);
    }

    @Test
    void getsTheSamePermissionsAsAnyNewFile() throws Exception {
        assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"));
        Path file = dir.resolve("out.png");
        Path plain = Files.createFile(dir.resolve("plain"));

        image(0).writePng(file);

        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(Files.getPosixFilePermissions(plain));
    }

    @Test
    void replacesAnExistingFile() throws Exception {
        Path file = dir.resolve("out.png");
        image(0).writePng(file, Map.of("parameters", "old"));
        Image replacement = image(77);

        replacement.writePng(file, Map.of("parameters", "new"));

        assertThat(Image.read(file).toRgbBytes()).isEqualTo(replacement.toRgbBytes());
        assertThat(Image.readPngText(file)).containsEntry("parameters", "new");
        assertThat(files()).containsExactly(file);
    }

    @Test
    void createsMissingDirectories() {
        Path file = dir.resolve("x/y/z/out.png");

        image(0).writePng(file, Map.of("parameters", PARAMETERS));

        assertThat(Image.readPngText(file)).containsEntry("parameters", PARAMETERS);
    }

    @Test
    void aBadKeyFailsAndLeavesNoFile() throws Exception {
        Path file = dir.resolve("out.png");

        assertThatThrownBy(() -> image(0).writePng(file, Map.of("", "x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("text key must be 1-79 Latin-1 characters (PNG keyword), found ''");
        assertThat(files()).isEmpty();
    }

    @Test
    void aNonLatin1KeyIsRejected() {
        assertThatThrownBy(() -> image(0).writePng(dir.resolve("out.png"), Map.of("狐", "x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("text key must be 1-79 Latin-1 characters (PNG keyword), found '狐'");
    }

    @Test
    void aFailedWriteKeepsTheExistingFile() throws Exception {
        Path file = dir.resolve("out.png");
        image(0).writePng(file, Map.of("parameters", "old"));

        assertThatThrownBy(() -> image(5).writePng(file, Map.of("k".repeat(80), "x")))
                .isInstanceOf(IllegalArgumentException.class);

        assertThat(Image.readPngText(file)).containsEntry("parameters", "old");
        assertThat(files()).containsExactly(file);
    }

    @Test
    void nullPathIsRejected() {
        assertThatThrownBy(() -> image(0).writePng(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("path must be non-null, found null");
    }

    @Test
    void readingTextOfANonPngFails() throws Exception {
        Path file = Files.writeString(dir.resolve("x.png"), "not a png");

        assertThatThrownBy(() -> Image.readPngText(file))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageStartingWith(file + ": not a readable PNG");
    }

    @Test
    void readingTextOfAMissingFileFails() {
        Path file = dir.resolve("missing.png");

        assertThatThrownBy(() -> Image.readPngText(file)).isInstanceOf(ModelLoadException.class)
                .hasMessageStartingWith(file.toString());
    }
}
