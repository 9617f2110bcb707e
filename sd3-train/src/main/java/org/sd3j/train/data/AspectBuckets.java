package org.sd3j.train.data;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import org.sd3j.internal.Checks;

/**
 * Aspect-ratio buckets (SPEC §7): a fixed set of training sizes of about the same pixel count, and the rule that
 * assigns each image the bucket closest to its aspect ratio, so wide and tall images train without cropping most of
 * them away while every batch (one bucket) still stacks into one tensor.
 *
 * <p>{@link #of(int, int)} builds, for a target area {@code S^2} and a step: for every width {@code w} that is a
 * multiple of the step, the height {@code h} = the largest multiple of the step with {@code w*h <= S^2}, keeping the
 * sizes whose aspect ratio lies within {@code [1/maxAspect, maxAspect]} (default 4). {@code S x S} is always one
 * of them. Example, {@code S = 256}, step 64: 128x512, 192x320, 256x256, 320x192, 384x128, 448x128, 512x128.
 *
 * <p>{@link #assign(int, int)} picks the bucket minimizing {@code |ln(w/h) - ln(bw/bh)|}; a tie goes to the bucket
 * listed first (the taller one). The result depends only on the image's width and height: deterministic.
 *
 * <p>Immutable and thread-safe.
 */
public final class AspectBuckets {
    /** The default widest (and, inverted, tallest) aspect ratio {@link #of(int, int)} keeps. */
    public static final double DEFAULT_MAX_ASPECT = 4.0;

    private final List<BucketSize> sizes;
    private final double[] logAspects;

    private AspectBuckets(List<BucketSize> sizes) {
        this.sizes = List.copyOf(sizes);
        this.logAspects = this.sizes.stream().mapToDouble(b -> Math.log(b.aspectRatio())).toArray();
    }

    /**
     * Buckets of about {@code side^2} pixels with sides multiples of {@code step}, aspect ratios up to
     * {@link #DEFAULT_MAX_ASPECT}.
     *
     * @param side the square side S whose area the buckets approximate (a positive multiple of 16 and of step)
     * @param step the side granularity: a positive multiple of 16 (16 or 64 are usual)
     */
    public static AspectBuckets of(int side, int step) {
        return of(side, step, DEFAULT_MAX_ASPECT);
    }

    /**
     * Buckets of about {@code side^2} pixels with sides multiples of {@code step} and aspect ratios within
     * {@code [1/maxAspect, maxAspect]}.
     *
     * @throws IllegalArgumentException for a step that is not a positive multiple of 16, a side that is not a
     *                                  multiple of the step, or {@code maxAspect < 1}
     */
    public static AspectBuckets of(int side, int step, double maxAspect) {
        Checks.multipleOf16(step, "step");
        if (side < step || side % step != 0) {
            throw Checks.fail("side", "a positive multiple of step " + step, side);
        }
        if (!(maxAspect >= 1) || Double.isInfinite(maxAspect)) {
            throw Checks.fail("maxAspect", "finite and >= 1", maxAspect);
        }
        long area = (long) side * side;
        TreeSet<BucketSize> sizes = new TreeSet<>();
        for (long w = step; w * step <= area; w += step) {
            long h = area / w / step * step;
            double aspect = (double) w / h;
            // A tolerance of 1e-9 keeps ratios like exactly 4:1 that division rounds a hair past the limit.
            if (aspect <= maxAspect * (1 + 1e-9) && aspect >= 1 / maxAspect / (1 + 1e-9)) {
                sizes.add(new BucketSize((int) w, (int) h));
            }
        }
        return new AspectBuckets(new ArrayList<>(sizes));
    }

    /** One bucket: every image is resized and center-cropped to {@code width x height} (multiples of 16). */
    public static AspectBuckets single(int width, int height) {
        return new AspectBuckets(List.of(new BucketSize(width, height)));
    }

    /**
     * Exactly these buckets (deduplicated, listed tall to wide).
     *
     * @throws IllegalArgumentException for an empty list or a null element
     */
    public static AspectBuckets of(List<BucketSize> sizes) {
        Checks.notNull(sizes, "sizes");
        if (sizes.isEmpty()) {
            throw Checks.fail("sizes", "non-empty", sizes);
        }
        TreeSet<BucketSize> sorted = new TreeSet<>();
        for (int i = 0; i < sizes.size(); i++) {
            sorted.add(Checks.notNull(sizes.get(i), "sizes[" + i + "]"));
        }
        return new AspectBuckets(new ArrayList<>(sorted));
    }

    /** The buckets, tall to wide (ascending aspect ratio), unmodifiable. */
    public List<BucketSize> sizes() {
        return sizes;
    }

    /**
     * The bucket for an image of {@code width x height} pixels: the one closest in aspect ratio.
     *
     * @throws IllegalArgumentException for a non-positive size
     */
    public BucketSize assign(int width, int height) {
        Checks.atLeast(width, 1, "width");
        Checks.atLeast(height, 1, "height");
        double logAspect = Math.log((double) width / height);
        int best = 0;
        double bestDistance = Double.POSITIVE_INFINITY;
        for (int i = 0; i < logAspects.length; i++) {
            double d = Math.abs(logAspect - logAspects[i]);
            if (d < bestDistance) {
                best = i;
                bestDistance = d;
            }
        }
        return sizes.get(best);
    }

    @Override
    public String toString() {
        return "AspectBuckets" + sizes;
    }
}
