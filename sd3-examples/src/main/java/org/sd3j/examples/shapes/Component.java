package org.sd3j.examples.shapes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A connected set of mask pixels and its bounding box. Immutable. */
final class Component {
    /** Pixel indices ({@code y * width + x}), ascending. */
    final int[] pixels;
    final int width;
    final int minX;
    final int minY;
    final int maxX;
    final int maxY;

    private Component(int[] pixels, int width) {
        this.pixels = pixels;
        this.width = width;
        int x0 = Integer.MAX_VALUE;
        int y0 = Integer.MAX_VALUE;
        int x1 = Integer.MIN_VALUE;
        int y1 = Integer.MIN_VALUE;
        for (int p : pixels) {
            x0 = Math.min(x0, p % width);
            x1 = Math.max(x1, p % width);
            y0 = Math.min(y0, p / width);
            y1 = Math.max(y1, p / width);
        }
        this.minX = x0;
        this.minY = y0;
        this.maxX = x1;
        this.maxY = y1;
    }

    /** The component over its bounding box, row-major, {@link #boxWidth()} wide. */
    boolean[] localMask() {
        boolean[] local = new boolean[boxWidth() * boxHeight()];
        for (int p : pixels) {
            local[(p / width - minY) * boxWidth() + p % width - minX] = true;
        }
        return local;
    }

    int area() {
        return pixels.length;
    }

    int boxWidth() {
        return maxX - minX + 1;
    }

    int boxHeight() {
        return maxY - minY + 1;
    }

    /**
     * The 4-connected components of {@code mask} ({@code width} wide) with at least {@code minArea} pixels, largest
     * first (ties: the one whose first pixel comes first). 4-connectivity keeps objects that nearly touch at a
     * corner apart.
     */
    static List<Component> find(boolean[] mask, int width, int minArea) {
        return find(mask, width, minArea, false);
    }

    /** As {@link #find(boolean[], int, int)}, diagonal neighbours joined too when {@code diagonal}. */
    static List<Component> find(boolean[] mask, int width, int minArea, boolean diagonal) {
        int height = mask.length / width;
        int[] label = new int[mask.length];
        // Each pixel is pushed once, when labelled.
        int[] stack = new int[mask.length];
        List<Component> found = new ArrayList<>();
        int next = 0;
        for (int start = 0; start < mask.length; start++) {
            if (!mask[start] || label[start] != 0) {
                continue;
            }
            next++;
            int top = 0;
            int count = 0;
            int[] members = new int[16];
            stack[top++] = start;
            label[start] = next;
            while (top > 0) {
                int p = stack[--top];
                if (count == members.length) {
                    members = Arrays.copyOf(members, count * 2);
                }
                members[count++] = p;
                int x = p % width;
                int y = p / width;
                if (x > 0 && mask[p - 1] && label[p - 1] == 0) {
                    label[p - 1] = next;
                    stack[top++] = p - 1;
                }
                if (x < width - 1 && mask[p + 1] && label[p + 1] == 0) {
                    label[p + 1] = next;
                    stack[top++] = p + 1;
                }
                if (y > 0 && mask[p - width] && label[p - width] == 0) {
                    label[p - width] = next;
                    stack[top++] = p - width;
                }
                if (y < height - 1 && mask[p + width] && label[p + width] == 0) {
                    label[p + width] = next;
                    stack[top++] = p + width;
                }
                if (diagonal) {
                    for (int dy = -1; dy <= 1; dy += 2) {
                        for (int dx = -1; dx <= 1; dx += 2) {
                            int q = p + dy * width + dx;
                            if (x + dx >= 0 && x + dx < width && y + dy >= 0 && y + dy < height && mask[q]
                                    && label[q] == 0) {
                                label[q] = next;
                                stack[top++] = q;
                            }
                        }
                    }
                }
            }
            if (count >= minArea) {
                int[] pixels = Arrays.copyOf(members, count);
                Arrays.sort(pixels);
                found.add(new Component(pixels, width));
            }
        }
        // Stable sort: equal areas keep scan order.
        found.sort((a, b) -> Integer.compare(b.area(), a.area()));
        return found;
    }
}
