package org.sd3j.examples.shapes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BitmapFontTest {

    @Test
    void everyGlyphReachesAllFourSidesOfItsBox() {
        // The sign reader finds letter cells from the ink's bounding box.
        for (char letter = 'A'; letter <= 'Z'; letter++) {
            boolean top = false;
            boolean bottom = false;
            boolean left = false;
            boolean right = false;
            for (int i = 0; i < BitmapFont.COLUMNS; i++) {
                top |= BitmapFont.ink(letter, i, 0);
                bottom |= BitmapFont.ink(letter, i, BitmapFont.ROWS - 1);
            }
            for (int row = 0; row < BitmapFont.ROWS; row++) {
                left |= BitmapFont.ink(letter, 0, row);
                right |= BitmapFont.ink(letter, BitmapFont.COLUMNS - 1, row);
            }
            assertThat(new boolean[] {top, bottom, left, right}).as("sides of %s", letter)
                    .containsOnly(true);
        }
    }

    @Test
    void glyphsDifferInAtLeastThreeCells() {
        int closest = Integer.MAX_VALUE;
        for (char a = 'A'; a <= 'Z'; a++) {
            for (char b = (char) (a + 1); b <= 'Z'; b++) {
                int differ = 0;
                for (int row = 0; row < BitmapFont.ROWS; row++) {
                    for (int column = 0; column < BitmapFont.COLUMNS; column++) {
                        if (BitmapFont.ink(a, column, row) != BitmapFont.ink(b, column, row)) {
                            differ++;
                        }
                    }
                }
                closest = Math.min(closest, differ);
            }
        }
        assertThat(closest).isGreaterThanOrEqualTo(3);
    }

    @Test
    void letterTIsABarOverAStem() {
        assertThat(BitmapFont.ink('T', 0, 0)).isTrue();
        assertThat(BitmapFont.ink('T', 4, 0)).isTrue();
        assertThat(BitmapFont.ink('T', 2, 6)).isTrue();
        assertThat(BitmapFont.ink('T', 0, 6)).isFalse();
    }

    @Test
    void signLayoutIsCentredWithOneBlankColumnBetweenLetters() {
        String word = "II";
        double cell = BitmapFont.cellSize(2);
        double left = BitmapFont.left(word);
        double middleRow = BitmapFont.top(word) + 3.5 * cell;
        assertThat(left + (2 * BitmapFont.PITCH - 1) * cell / 2)
                .isCloseTo(0.5, org.assertj.core.data.Offset.offset(1e-12));
        // The stems of I are column 2 of each letter; column 5 (the gap) is blank.
        assertThat(BitmapFont.inkAt(word, left + 2.5 * cell, middleRow)).isTrue();
        assertThat(BitmapFont.inkAt(word, left + 5.5 * cell, middleRow)).isFalse();
        assertThat(BitmapFont.inkAt(word, left + 8.5 * cell, middleRow)).isTrue();
        assertThat(BitmapFont.inkAt(word, left - 0.5 * cell, middleRow)).isFalse();
    }

    @Test
    void rejectsNonLetters() {
        assertThatThrownBy(() -> BitmapFont.ink('a', 0, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("letter must be in A..Z, found 'a'");
    }
}
