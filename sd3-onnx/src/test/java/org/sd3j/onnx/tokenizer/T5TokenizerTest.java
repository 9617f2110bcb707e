package org.sd3j.onnx.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;

/**
 * A small Unigram {@code tokenizer.json} (test resource {@code tokenizer/t5}): ids are hand-derived as the
 * Viterbi best path of the listed log-probabilities ({@code ▁a}=4, {@code ▁photo}=5, {@code ▁of}=6,
 * {@code ▁the}=7, {@code ▁cat}=8, {@code s}=11, {@code ▁A}=13, {@code ▁}=3, {@code <unk>}=2).
 */
class T5TokenizerTest {
    @TempDir
    static Path tmp;
    static Path folder;
    static T5Tokenizer t5;

    @BeforeAll
    static void load() throws URISyntaxException {
        folder = Path.of(T5TokenizerTest.class.getResource("/tokenizer/t5/tokenizer.json").toURI()).getParent();
        t5 = T5Tokenizer.load(folder);
    }

    @AfterAll
    static void close() {
        t5.close();
    }

    private static long[] padded(int length, long... head) {
        long[] out = new long[length];
        System.arraycopy(head, 0, out, 0, head.length);
        return out;
    }

    @Test
    void tokenizesWithUnigramBestPath() {
        assertThat(t5.promptTokens("a photo of the cat")).containsExactly(4, 5, 6, 7, 8);
        assertThat(t5.promptTokens("cats")).containsExactly(8, 11); // ▁cat s (-7.5) beats ▁c at s (-13.5)
    }

    @Test
    void isCaseSensitive() {
        assertThat(t5.promptTokens("A cat")).containsExactly(13, 8);
    }

    @Test
    void unknownCharactersBecomeOneUnkToken() {
        assertThat(t5.promptTokens("xyz")).containsExactly(3, 2);
    }

    @Test
    void appendsEndTokenAndPadsWithZeroTo256ByDefault() {
        assertThat(t5.maxLength()).isEqualTo(256);
        assertThat(t5.eosId()).isEqualTo(1);
        assertThat(t5.padId()).isZero();
        assertThat(t5.ids("a photo of the cat")).containsExactly(padded(256, 4, 5, 6, 7, 8, 1));
        assertThat(t5.ids("")).containsExactly(padded(256, 1));
    }

    @Test
    void isUsableAsEncoderFunction() {
        Function<String, long[]> f = t5;
        assertThat(f.apply("cats")).containsExactly(padded(256, 8, 11, 1));
    }

    @Test
    void truncatesKeepingEndTokenLast() {
        try (T5Tokenizer short4 = T5Tokenizer.load(folder, 4)) {
            PromptTokenizer.Tokens t = short4.tokenize("a photo of the cat");
            assertThat(t.ids()).containsExactly(4, 5, 6, 1);
            assertThat(t.dropped()).isEqualTo(2);
        }
    }

    @Test
    void acceptsMaxLength512AndTheFileItself() {
        try (T5Tokenizer t = T5Tokenizer.load(folder.resolve("tokenizer.json"), 512)) {
            long[] ids = t.ids("a cat");
            assertThat(ids).hasSize(512);
            assertThat(Arrays.copyOf(ids, 3)).containsExactly(4, 8, 1);
        }
    }

    @Test
    void rejectsMaxLengthBeyond512() {
        assertThatThrownBy(() -> T5Tokenizer.load(folder, 600))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxLength must be in [1, 512], found 600");
        assertThatThrownBy(() -> T5Tokenizer.load(folder, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxLength must be in [1, 512], found 0");
    }

    @Test
    void folderConfigCanOnlyShortenTheDefaultLength() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("configured"));
        Files.copy(folder.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 24}");
        try (T5Tokenizer t = T5Tokenizer.load(dir)) {
            assertThat(t.maxLength()).isEqualTo(24);
            assertThat(t.apply("a photo")).hasSize(24);
        }
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 512}");
        try (T5Tokenizer t = T5Tokenizer.load(dir)) {
            assertThat(t.maxLength()).as("SD3's T5 config says 512; diffusers uses 256").isEqualTo(256);
        }
    }

    @Test
    void missingTokenizerJsonNamesFolderAndFile() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("tokenizer_3"));
        Files.writeString(dir.resolve("spiece.model"), "x");
        assertThatThrownBy(() -> T5Tokenizer.load(dir))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(dir + ": missing tokenizer.json: expected tokenizer.json in a T5 tokenizer folder,"
                        + " found [spiece.model]");
    }

    @Test
    void vocabularyWithoutEndToken() throws IOException {
        String json = Files.readString(folder.resolve("tokenizer.json"), StandardCharsets.UTF_8)
                .replace("\"</s>\"", "\"<eos>\"");
        Path dir = Files.createDirectories(tmp.resolve("no_eos"));
        Files.writeString(dir.resolve("tokenizer.json"), json, StandardCharsets.UTF_8);
        assertThatThrownBy(() -> T5Tokenizer.load(dir))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(dir.resolve("tokenizer.json") + ": expected the end token </s> in the vocabulary,"
                        + " found none (17 entries)");
    }

    @Test
    void closedTokenizerRefusesAndCloseIsIdempotent() {
        T5Tokenizer t = T5Tokenizer.load(folder);
        t.close();
        t.close();
        assertThatThrownBy(() -> t.ids("a cat"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("tokenizer is closed: " + folder.resolve("tokenizer.json"));
    }
}
