package org.sd3j.examples.shapes;

/**
 * How a scene is put into words. The two styles mention different attributes: a terse caption leaves out a lone
 * object's size and position and a sign's colours. Immutable.
 */
public enum CaptionStyle {
    /** {@code red circle, blue background}; {@code two green squares, white background}; {@code sign CAT}. */
    TERSE,
    /**
     * {@code a large red circle in the top left on a blue background}; {@code two green squares on a white
     * background}; {@code a sign that says CAT, white letters on a blue background}.
     */
    DETAILED
}
