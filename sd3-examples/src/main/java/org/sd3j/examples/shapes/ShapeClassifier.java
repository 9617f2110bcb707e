package org.sd3j.examples.shapes;

import java.util.EnumMap;
import java.util.Map;

/**
 * Names a component's shape by template matching. For each candidate shape, the template's frame is placed by the
 * component's moments, which noise hardly moves (unlike its bounding box, which a ragged edge row shifts by a
 * pixel): scaled so the template has the component's area, shifted so their centroids meet. The component's mask is
 * sampled on the frame's grid and the shape whose outline differs from it in the least area wins. Global measures
 * (fill, convexity) are not enough: blur makes a small star look like a blob, while where its arms are survives.
 * Immutable and thread-safe.
 */
final class ShapeClassifier {
    /** Grid cells across the frame, which spans {@link #FRAME} times the outline's larger side. */
    private static final int GRID = 24;
    /** Room around the outline, for components larger than their template. */
    private static final double FRAME = 1.5;
    private static final int TEMPLATE_SAMPLES = 4;
    private static final int COMPONENT_SAMPLES = 2;

    private final Map<Shape, Template> templates = new EnumMap<>(Shape.class);

    /** A shape's coverage of each grid cell, its area (as a share of the unit square) and centroid. */
    private record Template(double[] cells, double area, double centroidX, double centroidY) {
    }

    ShapeClassifier() {
        for (Shape s : Shape.values()) {
            double[] cells = new double[GRID * GRID];
            double sum = 0;
            double sumX = 0;
            double sumY = 0;
            for (int gy = 0; gy < GRID; gy++) {
                for (int gx = 0; gx < GRID; gx++) {
                    int inside = 0;
                    for (int sy = 0; sy < TEMPLATE_SAMPLES; sy++) {
                        for (int sx = 0; sx < TEMPLATE_SAMPLES; sx++) {
                            if (s.contains(unit(gx, sx, TEMPLATE_SAMPLES), unit(gy, sy, TEMPLATE_SAMPLES))) {
                                inside++;
                            }
                        }
                    }
                    double c = inside / (double) (TEMPLATE_SAMPLES * TEMPLATE_SAMPLES);
                    cells[gy * GRID + gx] = c;
                    sum += c;
                    sumX += c * unit(gx, 0, 1);
                    sumY += c * unit(gy, 0, 1);
                }
            }
            double cellArea = (FRAME / GRID) * (FRAME / GRID);
            templates.put(s, new Template(cells, sum * cellArea, sumX / sum, sumY / sum));
        }
    }

    /** The shape nearest to {@code c}. */
    Shape classify(Component c) {
        boolean[] local = c.localMask();
        int boxWidth = c.boxWidth();
        double sumX = 0;
        double sumY = 0;
        for (int p : c.pixels) {
            sumX += p % c.width + 0.5;
            sumY += p / c.width + 0.5;
        }
        double meanX = sumX / c.area();
        double meanY = sumY / c.area();
        Shape best = null;
        double bestMismatch = Double.POSITIVE_INFINITY;
        for (Map.Entry<Shape, Template> e : templates.entrySet()) {
            Template t = e.getValue();
            double side = Math.sqrt(c.area() / t.area());
            double originX = meanX - t.centroidX() * side;
            double originY = meanY - t.centroidY() * side;
            double mismatch = 0;
            for (int gy = 0; gy < GRID; gy++) {
                for (int gx = 0; gx < GRID; gx++) {
                    int inside = 0;
                    for (int sy = 0; sy < COMPONENT_SAMPLES; sy++) {
                        int y = (int) Math.floor(originY + unit(gy, sy, COMPONENT_SAMPLES) * side) - c.minY;
                        for (int sx = 0; sx < COMPONENT_SAMPLES; sx++) {
                            int x = (int) Math.floor(originX + unit(gx, sx, COMPONENT_SAMPLES) * side) - c.minX;
                            if (x >= 0 && y >= 0 && x < boxWidth && y < c.boxHeight() && local[y * boxWidth + x]) {
                                inside++;
                            }
                        }
                    }
                    double diff = inside / (double) (COMPONENT_SAMPLES * COMPONENT_SAMPLES)
                            - t.cells()[gy * GRID + gx];
                    mismatch += diff * diff;
                }
            }
            // In pixels: cells of different hypotheses differ in size.
            mismatch *= side * side;
            if (mismatch < bestMismatch) {
                bestMismatch = mismatch;
                best = e.getKey();
            }
        }
        return best;
    }

    /** Sample {@code sub} (of {@code samples} per side) of grid cell {@code cell}, in outline units. */
    private static double unit(int cell, int sub, int samples) {
        return ((cell + (sub + 0.5) / samples) / GRID - 0.5) * FRAME;
    }
}
