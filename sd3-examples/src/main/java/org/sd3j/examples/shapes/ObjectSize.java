package org.sd3j.examples.shapes;

/**
 * How big a lone object is, as its extent (larger bounding-box side) over the image side. Generated extents stay
 * within {@link #SPREAD} of the nominal one; anything read from an image is split at the midpoint,
 * {@link #THRESHOLD}, so that a generated object may miss its nominal extent by almost 0.1 (6 px at 64 px) and still
 * count as the right size. Immutable.
 */
public enum ObjectSize {
    SMALL("small", 0.25),
    LARGE("large", 0.45);

    /** Extents below are small, the rest large. */
    public static final double THRESHOLD = 0.35;
    /** Generated extents are nominal +- this. */
    static final double SPREAD = 0.02;

    private final String word;
    private final double nominalExtent;

    ObjectSize(String word, double nominalExtent) {
        this.word = word;
        this.nominalExtent = nominalExtent;
    }

    public String word() {
        return word;
    }

    /** Larger bounding-box side over image side, before jitter. */
    public double nominalExtent() {
        return nominalExtent;
    }

    /** The size class of an extent (larger bounding-box side over image side). */
    public static ObjectSize of(double extent) {
        return extent < THRESHOLD ? SMALL : LARGE;
    }
}
