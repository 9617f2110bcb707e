package org.sd3j.examples.shapes;

/**
 * The named colours of the shapes dataset, for objects, letters and backgrounds alike. The sRGB values are far
 * apart in CIELAB (every pair at least 43, gray and white being the closest; 2 is a just noticeable difference) so
 * that a blurred or colour-shifted image still names each colour correctly. Immutable.
 */
public enum NamedColor {
    RED("red", 0xDC2828),
    ORANGE("orange", 0xFA8C14),
    YELLOW("yellow", 0xFAE128),
    GREEN("green", 0x28AA3C),
    BLUE("blue", 0x2850DC),
    PURPLE("purple", 0xA028A0),
    WHITE("white", 0xF5F5F5),
    GRAY("gray", 0x808080),
    BLACK("black", 0x141414);

    private final String word;
    private final int rgb;
    private final double[] lab;

    NamedColor(String word, int rgb) {
        this.word = word;
        this.rgb = rgb;
        this.lab = Lab.of(rgb);
    }

    /** The word captions use, e.g. {@code red}. */
    public String word() {
        return word;
    }

    /** Packed {@code 0xRRGGBB}. */
    public int rgb() {
        return rgb;
    }

    /** The nearest named colour to {@code rgb} (packed {@code 0xRRGGBB}) by CIELAB distance (CIE76). */
    public static NamedColor nearest(int rgb) {
        double[] lab = Lab.of(rgb);
        NamedColor best = null;
        double bestDistance = Double.POSITIVE_INFINITY;
        for (NamedColor c : values()) {
            double d = Lab.distanceSquared(lab, c.lab);
            if (d < bestDistance) {
                bestDistance = d;
                best = c;
            }
        }
        return best;
    }

    /** CIELAB distance (CIE76) between {@code rgb} and this colour. */
    public double distance(int rgb) {
        return Math.sqrt(Lab.distanceSquared(Lab.of(rgb), lab));
    }

    /** The colour whose word is {@code word}. */
    public static NamedColor ofWord(String word) {
        for (NamedColor c : values()) {
            if (c.word.equals(word)) {
                return c;
            }
        }
        throw new IllegalArgumentException("word must be a colour name (" + java.util.Arrays.toString(values())
                .toLowerCase(java.util.Locale.ROOT) + "), found " + word);
    }
}
