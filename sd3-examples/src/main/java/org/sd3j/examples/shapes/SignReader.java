package org.sd3j.examples.shapes;

/**
 * Reads a sign's word from a segmented image, the way {@link BitmapFont} lays it out: the ink's bounding box is 7
 * cells tall, so its height gives the cell size and its width the number of letters; each letter's 35 cells are
 * sampled at their middles (how far towards the ink colour, 0 to 1) and the glyph with the least squared difference
 * wins. No dictionary: a misspelt word reads as misspelt. Stateless.
 */
final class SignReader {
    private SignReader() {
    }

    /** The word, or null when there is no ink. */
    static String read(Segmentation s) {
        if (s.components.isEmpty()) {
            return null;
        }
        // Letters fall apart: the cells of a K's arm or a J's hook touch only at corners, which anti-aliasing
        // thins to nothing. Grown by a pixel they join up, while noise specks stay too small to count.
        int w = s.image.width;
        boolean[] grown = grow(s.mask, w);
        int minX = Integer.MAX_VALUE;
        int minY = Integer.MAX_VALUE;
        int maxX = Integer.MIN_VALUE;
        int maxY = Integer.MIN_VALUE;
        for (Component c : Component.find(grown, w, s.minArea, true)) {
            for (int p : c.pixels) {
                if (s.mask[p]) {
                    minX = Math.min(minX, p % w);
                    maxX = Math.max(maxX, p % w);
                    minY = Math.min(minY, p / w);
                    maxY = Math.max(maxY, p / w);
                }
            }
        }
        double width = maxX + 1 - minX;
        double height = maxY + 1 - minY;
        double cellY = height / BitmapFont.ROWS;
        long letters = Math.round((width / cellY + 1) / BitmapFont.PITCH);
        if (letters < 1 || letters > SignScene.MAX_LETTERS) {
            return null;
        }
        double cellX = width / (letters * BitmapFont.PITCH - 1);
        StringBuilder word = new StringBuilder();
        double[] cells = new double[BitmapFont.COLUMNS * BitmapFont.ROWS];
        for (int k = 0; k < letters; k++) {
            for (int row = 0; row < BitmapFont.ROWS; row++) {
                for (int column = 0; column < BitmapFont.COLUMNS; column++) {
                    cells[row * BitmapFont.COLUMNS + column] = middle(s,
                            minX + (k * BitmapFont.PITCH + column) * cellX, minY + row * cellY, cellX, cellY);
                }
            }
            word.append(nearestLetter(cells));
        }
        return word.toString();
    }

    /** {@code mask} dilated by one pixel in all eight directions. */
    private static boolean[] grow(boolean[] mask, int w) {
        int h = mask.length / w;
        boolean[] out = new boolean[mask.length];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (mask[y * w + x]) {
                    for (int yy = Math.max(0, y - 1); yy <= Math.min(h - 1, y + 1); yy++) {
                        for (int xx = Math.max(0, x - 1); xx <= Math.min(w - 1, x + 1); xx++) {
                            out[yy * w + xx] = true;
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Mean ink level over the middle half (each way) of the cell at (left, top), at least one pixel. */
    private static double middle(Segmentation s, double left, double top, double cellX, double cellY) {
        int w = s.image.width;
        int h = s.image.height;
        int x0 = (int) Math.floor(left + cellX / 4);
        int x1 = Math.max(x0, (int) Math.ceil(left + 3 * cellX / 4) - 1);
        int y0 = (int) Math.floor(top + cellY / 4);
        int y1 = Math.max(y0, (int) Math.ceil(top + 3 * cellY / 4) - 1);
        double sum = 0;
        int n = 0;
        for (int y = Math.max(0, y0); y <= Math.min(h - 1, y1); y++) {
            for (int x = Math.max(0, x0); x <= Math.min(w - 1, x1); x++) {
                sum += s.inkLevel(y * w + x);
                n++;
            }
        }
        return n == 0 ? 0 : sum / n;
    }

    private static char nearestLetter(double[] cells) {
        char best = 'A';
        double bestDistance = Double.POSITIVE_INFINITY;
        for (char letter = 'A'; letter <= 'Z'; letter++) {
            double d = 0;
            for (int row = 0; row < BitmapFont.ROWS; row++) {
                for (int column = 0; column < BitmapFont.COLUMNS; column++) {
                    double diff = cells[row * BitmapFont.COLUMNS + column]
                            - (BitmapFont.ink(letter, column, row) ? 1 : 0);
                    d += diff * diff;
                }
            }
            if (d < bestDistance) {
                bestDistance = d;
                best = letter;
            }
        }
        return best;
    }
}
