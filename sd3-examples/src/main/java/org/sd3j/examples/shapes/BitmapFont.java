package org.sd3j.examples.shapes;

/**
 * A blocky 5x7 font of the letters A to Z, for signs. Every glyph reaches all four sides of its 5x7 box, so a
 * word's bounding box tells where its letter cells are; letters are one cell apart. Stateless.
 */
final class BitmapFont {
    static final int COLUMNS = 5;
    static final int ROWS = 7;
    /** Cells from one letter's left side to the next one's: the glyph and a blank column. */
    static final int PITCH = COLUMNS + 1;

    /**
     * The glyphs A to M, then N to Z, side by side, one space apart ({@code #} ink, {@code .} blank).
     */
    private static final String TABLE = """
            .###. ####. .###. ###.. ##### ##### .###. #...# ##### ..### #...# #.... #...#
            #...# #...# #...# #..#. #.... #.... #...# #...# ..#.. ...#. #..#. #.... ##.##
            #...# #...# #.... #...# #.... #.... #.... #...# ..#.. ...#. #.#.. #.... #.#.#
            ##### ####. #.... #...# ####. ####. #.### ##### ..#.. ...#. ##... #.... #.#.#
            #...# #...# #.... #...# #.... #.... #...# #...# ..#.. ...#. #.#.. #.... #...#
            #...# #...# #...# #..#. #.... #.... #...# #...# ..#.. #..#. #..#. #.... #...#
            #...# ####. .###. ###.. ##### #.... .###. #...# ##### .##.. #...# ##### #...#

            #...# .###. ####. .###. ####. .#### ##### #...# #...# #...# #...# #...# #####
            #...# #...# #...# #...# #...# #.... ..#.. #...# #...# #...# #...# #...# ....#
            ##..# #...# #...# #...# #...# #.... ..#.. #...# #...# #...# .#.#. .#.#. ...#.
            #.#.# #...# ####. #...# ####. .###. ..#.. #...# #...# #.#.# ..#.. ..#.. ..#..
            #..## #...# #.... #.#.# #.#.. ....# ..#.. #...# #...# #.#.# .#.#. ..#.. .#...
            #...# #...# #.... #..#. #..#. ....# ..#.. #...# .#.#. #.#.# #...# ..#.. #....
            #...# .###. #.... .##.# #...# ####. ..#.. .###. ..#.. .#.#. #...# ..#.. #####
            """;
    private static final String[] GLYPHS = parse(TABLE);

    private BitmapFont() {
    }

    /** Whether cell (column, row) of {@code letter}'s glyph is ink. */
    static boolean ink(char letter, int column, int row) {
        return GLYPHS[index(letter)].charAt(row * COLUMNS + column) == '#';
    }

    static boolean isLetter(char c) {
        return c >= 'A' && c <= 'Z';
    }

    /** Each letter's 35 cells, row by row. */
    private static String[] parse(String table) {
        String[] lines = table.strip().split("\\n");
        String[] glyphs = new String[26];
        for (int letter = 0; letter < 26; letter++) {
            StringBuilder cells = new StringBuilder();
            int block = letter / 13;
            int column = (letter % 13) * (COLUMNS + 1);
            for (int row = 0; row < ROWS; row++) {
                String line = lines[block * (ROWS + 1) + row].strip();
                cells.append(line, column, column + COLUMNS);
            }
            glyphs[letter] = cells.toString();
        }
        return glyphs;
    }

    private static int index(char letter) {
        if (!isLetter(letter)) {
            throw new IllegalArgumentException("letter must be in A..Z, found '" + letter + "'");
        }
        return letter - 'A';
    }

    /** Cell size, as a fraction of the image side, of an {@code letters}-letter sign: 90% of the width at most. */
    static double cellSize(int letters) {
        return Math.min(0.9 / (letters * PITCH - 1), 0.6 / ROWS);
    }

    /** Left side of {@code word}'s sign, as a fraction of the image side. */
    static double left(String word) {
        return 0.5 - (word.length() * PITCH - 1) * cellSize(word.length()) / 2;
    }

    /** Top side of {@code word}'s sign, as a fraction of the image side. */
    static double top(String word) {
        return 0.5 - ROWS * cellSize(word.length()) / 2;
    }

    /**
     * Whether the point (x, y) (fractions of the image side) is ink of {@code word} laid out as a sign: centred, cells
     * of {@link #cellSize}.
     */
    static boolean inkAt(String word, double x, double y) {
        double cell = cellSize(word.length());
        double left = left(word);
        double top = top(word);
        double cx = Math.floor((x - left) / cell);
        double cy = Math.floor((y - top) / cell);
        if (cx < 0 || cy < 0 || cy >= ROWS || cx >= word.length() * PITCH) {
            return false;
        }
        int column = (int) cx % PITCH;
        return column < COLUMNS && ink(word.charAt((int) cx / PITCH), column, (int) cy);
    }
}
