package org.sd3j.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.Sd3Exception;

class PreferencePairsTest {
    @TempDir
    Path dir;

    private Path file(String... lines) throws IOException {
        return Files.write(dir.resolve("prefs.jsonl"), java.util.List.of(lines), StandardCharsets.UTF_8);
    }

    @Test
    void readsBothFormsRelativeToTheFileAndDropsPickAPicTies() throws IOException {
        Path f = file("{\"prompt\": \"a fox\", \"chosen\": \"a.png\", \"rejected\": \"sub/b.png\"}",
                "",
                "{\"caption\": \"a cat\", \"jpg_0\": \"c.jpg\", \"jpg_1\": \"d.jpg\", \"label_0\": 0}",
                "{\"caption\": \"a dog\", \"jpg_0\": \"e.jpg\", \"jpg_1\": \"f.jpg\", \"label_0\": 1}",
                "{\"caption\": \"a cow\", \"jpg_0\": \"g.jpg\", \"jpg_1\": \"h.jpg\", \"label_0\": 0.5}");
        PreferencePairs p = PreferencePairs.read(f);
        Path root = dir.toAbsolutePath().normalize();
        assertThat(p.pairs()).containsExactly(
                new PreferencePair("a fox", root.resolve("a.png"), root.resolve("sub/b.png")),
                new PreferencePair("a cat", root.resolve("d.jpg"), root.resolve("c.jpg")),
                new PreferencePair("a dog", root.resolve("e.jpg"), root.resolve("f.jpg")));
        assertThat(p.ties()).isEqualTo(1);
        assertThat(p.folder()).isEqualTo(root);
    }

    @Test
    void badLinesNameTheFileTheLineAndWhatWasExpected() throws IOException {
        Path f = file("{\"prompt\": \"a fox\", \"chosen\": \"a.png\"}");
        assertThatThrownBy(() -> PreferencePairs.read(f)).isInstanceOf(Sd3Exception.class)
                .hasMessage(f.toAbsolutePath().normalize() + " line 1: rejected must be a non-blank string, found null");
        Path g = file("{\"a\": 1}");
        assertThatThrownBy(() -> PreferencePairs.read(g)).hasMessageEndingWith("line 1: expected the fields prompt, "
                + "chosen, rejected (or Pick-a-Pic's caption, jpg_0, jpg_1, label_0), found [a]");
        Path h = file("{\"caption\": \"x\", \"jpg_0\": \"a\", \"jpg_1\": \"b\", \"label_0\": 0.7}");
        assertThatThrownBy(() -> PreferencePairs.read(h)).hasMessageEndingWith(
                "line 1: label_0 must be 1, 0 or 0.5, found 0.7");
        Path i = file("not json");
        assertThatThrownBy(() -> PreferencePairs.read(i)).hasMessageContaining("line 1: not JSON");
        assertThatThrownBy(() -> PreferencePairs.read(dir.resolve("missing.jsonl")))
                .hasMessageStartingWith("Cannot read the preference file");
    }
}
