package org.sd3j.onnx.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.sd3j.onnx.tokenizer.SyntheticClipVocab.BOS;
import static org.sd3j.onnx.tokenizer.SyntheticClipVocab.CAT_W;
import static org.sd3j.onnx.tokenizer.SyntheticClipVocab.END_OF_WORD;
import static org.sd3j.onnx.tokenizer.SyntheticClipVocab.EOS;
import static org.sd3j.onnx.tokenizer.SyntheticClipVocab.HE;
import static org.sd3j.onnx.tokenizer.SyntheticClipVocab.HELLO_W;
import static org.sd3j.onnx.tokenizer.SyntheticClipVocab.WORLD_W;
import static org.sd3j.onnx.tokenizer.SyntheticClipVocab.byteId;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;

/** Ids are hand-derived from {@link SyntheticClipVocab}'s layout (see its comments). */
class ClipTokenizerTest {
    @TempDir
    static Path tmp;
    static ClipTokenizer clipL;

    @BeforeAll
    static void load() throws IOException {
        clipL = ClipTokenizer.load(SyntheticClipVocab.write(tmp.resolve("tokenizer"), "<|endoftext|>", true));
    }

    @AfterAll
    static void close() {
        clipL.close();
    }

    private static long[] body(String prompt) {
        return clipL.promptTokens(prompt);
    }

    private static long[] padded(long pad, long... head) {
        long[] out = new long[77];
        Arrays.fill(out, pad);
        System.arraycopy(head, 0, out, 0, head.length);
        return out;
    }

    @Nested
    class Tokenization {
        @Test
        void mergesWholeWordsWithEndOfWordSuffix() {
            assertThat(body("hello world")).containsExactly(HELLO_W, WORLD_W);
        }

        @Test
        void lowercases() {
            assertThat(body("HeLLo WORLD")).containsExactly(HELLO_W, WORLD_W);
        }

        @Test
        void collapsesAndStripsWhitespace() {
            assertThat(body("  hello \t\n  world  ")).containsExactly(HELLO_W, WORLD_W);
        }

        @Test
        void splitsPunctuationFromWords() {
            // "hello" "," "world" "!!": "," is a one-char word -> ",</w>"; "!!" -> "!" "!</w>"
            assertThat(body("hello,world!!")).containsExactly(
                    HELLO_W, byteId(',') + END_OF_WORD, WORLD_W, byteId('!'), byteId('!') + END_OF_WORD);
        }

        @Test
        void splitsContractionsAndSingleDigits() {
            // "cat" "'s" "12" -> "cat</w>", "'" "s</w>", "1</w>", "2</w>"
            assertThat(body("cat's 12")).containsExactly(
                    CAT_W, byteId('\''), byteId('s') + END_OF_WORD,
                    byteId('1') + END_OF_WORD, byteId('2') + END_OF_WORD);
        }

        @Test
        void endOfWordSuffixDecidesMerges() {
            // "hell": h e l l</w>; "h e" merges, "l l" does not apply to l + l</w>
            assertThat(body("hell")).containsExactly(HE, byteId('l'), byteId('l') + END_OF_WORD);
        }

        @Test
        void outOfVocabularyWordsFallBackToBytePieces() {
            assertThat(body("xyz")).containsExactly(byteId('x'), byteId('y'), byteId('z') + END_OF_WORD);
        }

        @Test
        void nonAsciiFallsBackToUtf8BytePiecesAfterNfcAndLowercase() {
            long[] e = {byteId(0xC3), byteId(0xA9) + END_OF_WORD}; // "é" = C3 A9
            assertThat(body("\u00e9")).containsExactly(e);
            assertThat(body("e\u0301")).containsExactly(e); // NFC composes
            assertThat(body("\u00c9")).containsExactly(e); // lowercase
        }

        @Test
        void specialTokensInTextAreKept() {
            assertThat(body("hello <|endoftext|>")).containsExactly(HELLO_W, EOS);
        }
    }

    @Nested
    class Ids {
        @Test
        void wrapsInStartAndEndAndPadsTo77WithEndToken() {
            assertThat(clipL.ids("Hello world")).containsExactly(padded(EOS, BOS, HELLO_W, WORLD_W, EOS));
            assertThat(clipL.padId()).isEqualTo(EOS);
            assertThat(clipL.droppedTokens("Hello world")).isZero();
        }

        @Test
        void emptyPromptIsStartEndAndPadding() {
            assertThat(clipL.ids("")).containsExactly(padded(EOS, BOS, EOS));
        }

        @Test
        void exactly75TokensFitWithoutDropping() {
            String prompt = "cat ".repeat(75);
            long[] ids = clipL.ids(prompt);
            assertThat(ids).hasSize(77);
            assertThat(ids[0]).isEqualTo(BOS);
            assertThat(Arrays.copyOfRange(ids, 1, 76)).containsOnly(CAT_W);
            assertThat(ids[76]).isEqualTo(EOS);
            assertThat(clipL.droppedTokens(prompt)).isZero();
        }

        @Test
        void truncatesTo77KeepingEndTokenLastAndCountsDropped() {
            String prompt = "cat ".repeat(80);
            PromptTokenizer.Tokens t = clipL.tokenize(prompt);
            assertThat(t.ids()).hasSize(77);
            assertThat(t.ids()[0]).isEqualTo(BOS);
            assertThat(Arrays.copyOfRange(t.ids(), 1, 76)).containsOnly(CAT_W);
            assertThat(t.ids()[76]).isEqualTo(EOS);
            assertThat(t.dropped()).isEqualTo(5);
        }

        @Test
        void isUsableAsEncoderFunction() {
            Function<String, long[]> f = clipL;
            assertThat(f.apply("hello")).containsExactly(padded(EOS, BOS, HELLO_W, EOS));
        }
    }

    @Nested
    class PadIds {
        @Test
        void clipGStyleFolderPadsWithZero() throws IOException {
            Path dir = SyntheticClipVocab.write(tmp.resolve("tokenizer_2"), "!", true);
            try (ClipTokenizer clipG = ClipTokenizer.load(dir)) {
                assertThat(clipG.padId()).isZero();
                assertThat(clipG.ids("hello")).containsExactly(padded(0, BOS, HELLO_W, EOS));
            }
        }

        @Test
        void shorterModelMaxLengthShortensEverySequence() throws IOException {
            Path dir = SyntheticClipVocab.write(tmp.resolve("short"), "!", true);
            Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 5}");
            try (ClipTokenizer shortClip = ClipTokenizer.load(dir)) {
                assertThat(shortClip.maxLength()).isEqualTo(5);
                assertThat(shortClip.ids("hello")).containsExactly(BOS, HELLO_W, EOS, 0, 0);
                assertThat(shortClip.tokenize("hello world hello world").ids())
                        .containsExactly(BOS, HELLO_W, WORLD_W, HELLO_W, EOS);
                assertThat(shortClip.tokenize("hello world hello world").dropped()).isEqualTo(1);
            }
            Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 1000000000000000019884624838656}");
            try (ClipTokenizer unlimited = ClipTokenizer.load(dir)) {
                assertThat(unlimited.maxLength()).as("HF's no-limit sentinel").isEqualTo(77);
            }
            Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 2}");
            assertThatThrownBy(() -> ClipTokenizer.load(dir))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage(dir.resolve("tokenizer_config.json") + ": expected model_max_length of at least 3"
                            + " (start, one token, end), found 2");
        }

        @Test
        void builderOverridesPadId() {
            Path dir = tmp.resolve("tokenizer");
            try (ClipTokenizer zero = ClipTokenizer.builder(dir).padId(0).build();
                 ClipTokenizer end = ClipTokenizer.builder(dir)
                         .padId(0).padWithEndToken().build()) {
                assertThat(zero.ids("hello")).containsExactly(padded(0, BOS, HELLO_W, EOS));
                assertThat(end.ids("hello")).containsExactly(padded(EOS, BOS, HELLO_W, EOS));
            }
        }

        @Test
        void rejectsNegativePadId() {
            assertThatThrownBy(() -> ClipTokenizer.builder(tmp).padId(-1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("padId must be >= 0, found -1");
        }
    }

    @Nested
    class Chunks {
        @Test
        void splitsLongPromptsInto77IdChunksEachWithStartAndEnd() {
            long[][] chunks = clipL.chunks("cat ".repeat(80));
            assertThat(chunks).hasNumberOfRows(2);
            assertThat(chunks[0][0]).isEqualTo(BOS);
            assertThat(Arrays.copyOfRange(chunks[0], 1, 76)).containsOnly(CAT_W);
            assertThat(chunks[0][76]).isEqualTo(EOS);
            assertThat(chunks[1]).containsExactly(padded(EOS, BOS, CAT_W, CAT_W, CAT_W, CAT_W, CAT_W, EOS));
        }

        @Test
        void shortPromptIsOneChunk() {
            assertThat(clipL.chunks("hello")).hasNumberOfRows(1);
            assertThat(clipL.chunks("")[0]).containsExactly(padded(EOS, BOS, EOS));
        }

        @Test
        void chunkModeConcatenatesChunksAndDropsNothing() {
            try (ClipTokenizer chunked = ClipTokenizer.builder(tmp.resolve("tokenizer"))
                    .longPrompts(ClipTokenizer.LongPrompts.CHUNK).build()) {
                String prompt = "cat ".repeat(151); // 75 + 75 + 1
                PromptTokenizer.Tokens t = chunked.tokenize(prompt);
                assertThat(t.dropped()).isZero();
                assertThat(t.ids()).hasSize(3 * 77);
                long[][] chunks = chunked.chunks(prompt);
                for (int i = 0; i < 3; i++) {
                    assertThat(Arrays.copyOfRange(t.ids(), i * 77, i * 77 + 77)).containsExactly(chunks[i]);
                }
                assertThat(chunks[2]).containsExactly(padded(EOS, BOS, CAT_W, EOS));
            }
        }
    }

    @Nested
    class Errors {
        @Test
        void missingMergesNamesFolderAndFile() throws IOException {
            Path dir = SyntheticClipVocab.write(tmp.resolve("no_merges"), "!", true);
            Files.delete(dir.resolve("merges.txt"));
            assertThatThrownBy(() -> ClipTokenizer.load(dir))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage(dir + ": missing merges.txt: expected vocab.json, merges.txt, special_tokens_map.json"
                            + " in a CLIP tokenizer folder, found [special_tokens_map.json, tokenizer_config.json, vocab.json]")
                    .satisfies(e -> assertThat(((ModelLoadException) e).path()).contains(dir));
        }

        @Test
        void missingFolder() {
            Path dir = tmp.resolve("absent");
            assertThatThrownBy(() -> ClipTokenizer.load(dir))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage(dir + ": expected a CLIP tokenizer folder with vocab.json, merges.txt,"
                            + " special_tokens_map.json, found nothing");
        }

        @Test
        void vocabularyWithoutSpecialTokens() throws IOException {
            Path dir = SyntheticClipVocab.write(tmp.resolve("no_specials"), "!", false);
            assertThatThrownBy(() -> ClipTokenizer.load(dir))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage(dir.resolve("vocab.json") + ": expected special tokens <|startoftext|> and"
                            + " <|endoftext|> in the vocabulary, found neither (522 entries)");
        }

        @Test
        void closedTokenizerRefusesAndCloseIsIdempotent() throws IOException {
            ClipTokenizer t = ClipTokenizer.load(tmp.resolve("tokenizer"));
            t.close();
            t.close();
            assertThatThrownBy(() -> t.ids("hello"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("tokenizer is closed: " + tmp.resolve("tokenizer"));
        }
    }
}
