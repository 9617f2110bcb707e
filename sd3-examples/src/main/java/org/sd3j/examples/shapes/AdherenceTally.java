package org.sd3j.examples.shapes;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

import org.sd3j.internal.Checks;

/**
 * Running totals over many {@link Evaluation}s: mean adherence and, per attribute, how often it was checked and read
 * correctly. Not thread-safe: one tally per thread, or add under a lock.
 */
public final class AdherenceTally {
    private final Map<Attribute, int[]> perAttribute = new EnumMap<>(Attribute.class);
    private int images;
    private double adherenceSum;

    public void add(Evaluation evaluation) {
        Checks.notNull(evaluation, "evaluation");
        images++;
        adherenceSum += evaluation.adherence();
        for (Map.Entry<Attribute, Boolean> e : evaluation.correct().entrySet()) {
            int[] counts = perAttribute.computeIfAbsent(e.getKey(), k -> new int[2]);
            counts[0] += e.getValue() ? 1 : 0;
            counts[1]++;
        }
    }

    public int images() {
        return images;
    }

    /** Mean over images of their adherence; NaN before the first. */
    public double meanAdherence() {
        return images == 0 ? Double.NaN : adherenceSum / images;
    }

    /** Share of all checked attributes (over every image) read correctly; NaN when none was checked. */
    public double attributeAccuracy() {
        int right = 0;
        int checked = 0;
        for (int[] counts : perAttribute.values()) {
            right += counts[0];
            checked += counts[1];
        }
        return checked == 0 ? Double.NaN : right / (double) checked;
    }

    /** Share of the images that checked {@code attribute} that read it correctly; NaN when none checked it. */
    public double accuracy(Attribute attribute) {
        int[] counts = perAttribute.get(attribute);
        return counts == null ? Double.NaN : counts[0] / (double) counts[1];
    }

    /** How many images checked {@code attribute}. */
    public int checked(Attribute attribute) {
        int[] counts = perAttribute.get(attribute);
        return counts == null ? 0 : counts[1];
    }

    /** One line: {@code images 1000, adherence 99.1%, attributes 99.3%: shape 98.7% (612/620), color ...}. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "images %d, adherence %.1f%%, attributes %.1f%%",
                images, 100 * meanAdherence(), 100 * attributeAccuracy()));
        String separator = ": ";
        for (Map.Entry<Attribute, int[]> e : perAttribute.entrySet()) {
            int[] c = e.getValue();
            s.append(separator).append(String.format(Locale.ROOT, "%s %.1f%% (%d/%d)", e.getKey().key(),
                    100.0 * c[0] / c[1], c[0], c[1]));
            separator = ", ";
        }
        return s.toString();
    }
}
