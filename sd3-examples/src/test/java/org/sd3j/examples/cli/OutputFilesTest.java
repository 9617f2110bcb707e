package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;

class OutputFilesTest {

    @Test
    void defaultIsSd3SeedPngInTheCurrentFolder() {
        assertThat(OutputFiles.paths(null, 42, 1)).containsExactly(Path.of("sd3-42.png"));
    }

    @Test
    void aBatchInsertsTheImageNumberBeforeTheExtension() {
        assertThat(OutputFiles.paths(Path.of("out/fox.png"), 7, 3))
                .containsExactly(Path.of("out/fox-1.png"), Path.of("out/fox-2.png"), Path.of("out/fox-3.png"));
        assertThat(OutputFiles.paths(null, 42, 2)).containsExactly(Path.of("sd3-42-1.png"), Path.of("sd3-42-2.png"));
    }

    @Test
    void aNameWithoutExtensionGetsTheNumberAtTheEnd() {
        assertThat(OutputFiles.paths(Path.of("fox"), 1, 2)).containsExactly(Path.of("fox-1"), Path.of("fox-2"));
        assertThat(OutputFiles.paths(Path.of("my.dir/fox"), 1, 2))
                .containsExactly(Path.of("my.dir/fox-1"), Path.of("my.dir/fox-2"));
    }

    @Test
    void onlyPngNamesAreAccepted() {
        OutputFiles.check(Path.of("fox.PNG"));
        OutputFiles.check(Path.of("fox"));
        OutputFiles.check(null);
        assertThatIllegalArgumentException().isThrownBy(() -> OutputFiles.check(Path.of("fox.jpg")))
                .withMessage("--output must be a .png file, found fox.jpg");
    }
}
