package org.sd3j.onnx.graph;

import java.util.List;

/**
 * A named value in a graph under construction: a graph input, a weight, a constant or an op's output, with
 * its element type and its shape as far as it is known. Immutable; belongs to the {@link GraphBuilder} that
 * made it.
 */
public final class Value {
    private final GraphBuilder owner;
    private final String name;
    private final ElementType type;
    private final List<Dim> shape;

    Value(GraphBuilder owner, String name, ElementType type, List<Dim> shape) {
        this.owner = owner;
        this.name = name;
        this.type = type;
        this.shape = shape == null ? null : List.copyOf(shape);
    }

    public String name() {
        return name;
    }

    public ElementType type() {
        return type;
    }

    /** The shape, or null when even the rank is unknown. */
    public List<Dim> shape() {
        return shape;
    }

    public int rank() {
        if (shape == null) {
            throw new IllegalStateException("rank of " + name + " is unknown");
        }
        return shape.size();
    }

    /** Dimension {@code axis} (negative counts from the end), or unknown when the shape is. */
    public Dim dim(int axis) {
        if (shape == null) {
            return Dim.unknown();
        }
        int a = axis < 0 ? axis + shape.size() : axis;
        return shape.get(a);
    }

    GraphBuilder owner() {
        return owner;
    }

    @Override
    public String toString() {
        return name + ":" + type + (shape == null ? "[?]" : shape.toString());
    }
}
