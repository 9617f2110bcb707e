package org.sd3j.examples.shapes;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

import org.sd3j.internal.Checks;

/**
 * One to three objects of one shape and colour on a plain background. A lone object also has a size and a position
 * in the 3x3 grid, which detailed captions state; groups have neither (their objects are placed anywhere, apart).
 * Immutable and thread-safe.
 */
public final class ShapeScene implements Scene {
    /** The most objects a scene holds. */
    public static final int MAX_COUNT = 3;
    private static final String[] NUMBERS = {"zero", "one", "two", "three"};

    private final Shape shape;
    private final NamedColor color;
    private final NamedColor background;
    private final List<SceneObject> objects;
    private final ObjectSize size;
    private final Position position;

    private ShapeScene(Shape shape, NamedColor color, NamedColor background, List<SceneObject> objects,
                       ObjectSize size, Position position) {
        this.shape = Checks.notNull(shape, "shape");
        this.color = Checks.notNull(color, "color");
        this.background = Checks.notNull(background, "background");
        if (color == background) {
            throw new IllegalArgumentException("background must differ from the object colour, found "
                    + background.word());
        }
        this.objects = List.copyOf(objects);
        this.size = size;
        this.position = position;
    }

    /**
     * A lone object. Its extent must be of class {@code size} ({@link ObjectSize#of}) and its centre in cell
     * {@code position} ({@link Position#of}), so that the image and the caption agree.
     */
    public static ShapeScene single(Shape shape, NamedColor color, NamedColor background, ObjectSize size,
                                    Position position, SceneObject object) {
        Checks.notNull(object, "object");
        if (ObjectSize.of(object.extent()) != Checks.notNull(size, "size")) {
            throw new IllegalArgumentException("object.extent must be of size " + size.word() + ", found "
                    + object.extent());
        }
        Position cell = Position.of(object.centerX(), object.centerY());
        if (cell != Checks.notNull(position, "position")) {
            throw new IllegalArgumentException("object centre must be in the " + position.words() + " cell, found "
                    + object.centerX() + ", " + object.centerY() + " (" + cell.words() + ")");
        }
        return new ShapeScene(shape, color, background, List.of(object), size, position);
    }

    /** Two or three objects, which should not overlap (they would be counted as one). */
    public static ShapeScene group(Shape shape, NamedColor color, NamedColor background, List<SceneObject> objects) {
        Checks.notNull(objects, "objects");
        if (objects.size() < 2 || objects.size() > MAX_COUNT) {
            throw new IllegalArgumentException("objects.size must be in [2, " + MAX_COUNT + "], found "
                    + objects.size());
        }
        return new ShapeScene(shape, color, background, objects, null, null);
    }

    public Shape shape() {
        return shape;
    }

    @Override
    public NamedColor color() {
        return color;
    }

    @Override
    public NamedColor background() {
        return background;
    }

    public List<SceneObject> objects() {
        return objects;
    }

    public int count() {
        return objects.size();
    }

    /** A lone object's size; empty for groups. */
    public Optional<ObjectSize> size() {
        return Optional.ofNullable(size);
    }

    /** A lone object's cell; empty for groups. */
    public Optional<Position> position() {
        return Optional.ofNullable(position);
    }

    @Override
    public Map<Attribute, Object> attributes() {
        Map<Attribute, Object> values = new EnumMap<>(Attribute.class);
        values.put(Attribute.SHAPE, shape);
        values.put(Attribute.COLOR, color);
        values.put(Attribute.BACKGROUND, background);
        if (size != null) {
            values.put(Attribute.SIZE, size);
            values.put(Attribute.POSITION, position);
        }
        values.put(Attribute.COUNT, count());
        return Collections.unmodifiableMap(values);
    }

    @Override
    public String caption(CaptionStyle style) {
        Checks.notNull(style, "style");
        boolean lone = count() == 1;
        String things = lone ? color.word() + " " + shape.word()
                : NUMBERS[count()] + " " + color.word() + " " + shape.plural();
        if (style == CaptionStyle.TERSE) {
            return things + ", " + background.word() + " background";
        }
        String backdrop = "on " + Articles.before(background.word()) + " " + background.word() + " background";
        if (!lone) {
            return things + " " + backdrop;
        }
        return Articles.before(size.word()) + " " + size.word() + " " + things + " " + position.phrase() + " "
                + backdrop;
    }

    @Override
    public Set<Attribute> mentioned(CaptionStyle style) {
        Checks.notNull(style, "style");
        Set<Attribute> set = EnumSet.of(Attribute.SHAPE, Attribute.COLOR, Attribute.BACKGROUND, Attribute.COUNT);
        if (style == CaptionStyle.DETAILED && size != null) {
            set.add(Attribute.SIZE);
            set.add(Attribute.POSITION);
        }
        return Collections.unmodifiableSet(set);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ShapeScene s && shape == s.shape && color == s.color && background == s.background
                && objects.equals(s.objects) && size == s.size && position == s.position;
    }

    @Override
    public int hashCode() {
        return Objects.hash(shape, color, background, objects, size, position);
    }

    @Override
    public String toString() {
        return "ShapeScene[" + caption(CaptionStyle.DETAILED) + ", " + objects + "]";
    }
}
