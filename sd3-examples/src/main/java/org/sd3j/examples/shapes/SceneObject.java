package org.sd3j.examples.shapes;

/**
 * Where one object of a {@link ShapeScene} is and how big: the centre of its bounding box and its extent (the
 * larger bounding-box side), all as fractions of the image side, so that one scene renders at any resolution.
 * Immutable.
 *
 * @param centerX bounding-box centre, fraction of the image width, in [0, 1]
 * @param centerY bounding-box centre, fraction of the image height, in [0, 1]
 * @param extent  larger bounding-box side over the image side, in (0, 1]
 */
public record SceneObject(double centerX, double centerY, double extent) {
    public SceneObject {
        if (!(centerX >= 0 && centerX <= 1)) {
            throw new IllegalArgumentException("centerX must be in [0, 1], found " + centerX);
        }
        if (!(centerY >= 0 && centerY <= 1)) {
            throw new IllegalArgumentException("centerY must be in [0, 1], found " + centerY);
        }
        if (!(extent > 0 && extent <= 1)) {
            throw new IllegalArgumentException("extent must be in (0, 1], found " + extent);
        }
    }
}
