package org.sd3j.examples.shapes;

/**
 * Where a lone object sits: a cell of the 3x3 grid over the image. Generated objects are centred near
 * {@link #centerX()}/{@link #centerY()} (a quarter, a half or three quarters across); anything read from an image
 * belongs to the third its bounding-box centre falls in. Immutable.
 */
public enum Position {
    TOP_LEFT("top left", "in the top left", 0, 0),
    TOP("top", "at the top", 1, 0),
    TOP_RIGHT("top right", "in the top right", 2, 0),
    LEFT("left", "on the left", 0, 1),
    CENTER("center", "in the center", 1, 1),
    RIGHT("right", "on the right", 2, 1),
    BOTTOM_LEFT("bottom left", "in the bottom left", 0, 2),
    BOTTOM("bottom", "at the bottom", 1, 2),
    BOTTOM_RIGHT("bottom right", "in the bottom right", 2, 2);

    private final String words;
    private final String phrase;
    private final int column;
    private final int row;

    Position(String words, String phrase, int column, int row) {
        this.words = words;
        this.phrase = phrase;
        this.column = column;
        this.row = row;
    }

    /** The bare words, e.g. {@code top left}: how the attribute is reported. */
    public String words() {
        return words;
    }

    /** The phrase detailed captions use, e.g. {@code in the top left}. */
    public String phrase() {
        return phrase;
    }

    /** 0 (left), 1 or 2 (right). */
    public int column() {
        return column;
    }

    /** 0 (top), 1 or 2 (bottom). */
    public int row() {
        return row;
    }

    /** Nominal centre, as a fraction of the image width. */
    public double centerX() {
        return 0.25 + 0.25 * column;
    }

    /** Nominal centre, as a fraction of the image height. */
    public double centerY() {
        return 0.25 + 0.25 * row;
    }

    /** The cell holding the point (x, y), both fractions of the image side in [0, 1]. */
    public static Position of(double x, double y) {
        int column = third(x);
        int row = third(y);
        for (Position p : values()) {
            if (p.column == column && p.row == row) {
                return p;
            }
        }
        throw new AssertionError("no cell " + column + ", " + row);
    }

    private static int third(double v) {
        return v < 1.0 / 3 ? 0 : v < 2.0 / 3 ? 1 : 2;
    }
}
