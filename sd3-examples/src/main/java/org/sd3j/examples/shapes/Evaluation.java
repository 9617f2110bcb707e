package org.sd3j.examples.shapes;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;

import org.sd3j.internal.Checks;

/**
 * How one image matches the scene it should show: per checked attribute, the expected value and whether the value
 * read from the image equals it. Immutable.
 *
 * @param expected the checked attributes and their true values, in {@link Attribute} order
 * @param reading  everything read from the image
 * @param correct  per checked attribute, whether the reading matches
 */
public record Evaluation(Map<Attribute, Object> expected, SceneReading reading, Map<Attribute, Boolean> correct) {
    public Evaluation {
        Checks.notNull(reading, "reading");
        expected = Collections.unmodifiableMap(copy(Checks.notNull(expected, "expected")));
        correct = Collections.unmodifiableMap(copy(Checks.notNull(correct, "correct")));
        if (!expected.keySet().equals(correct.keySet())) {
            throw new IllegalArgumentException("correct must cover the expected attributes " + expected.keySet()
                    + ", found " + correct.keySet());
        }
    }

    /** An {@link EnumMap} copy: its iteration order is {@link Attribute} order whatever the input's. */
    private static <V> Map<Attribute, V> copy(Map<Attribute, V> map) {
        Map<Attribute, V> copy = new EnumMap<>(Attribute.class);
        copy.putAll(map);
        return copy;
    }

    /** The attributes checked. */
    public Set<Attribute> checked() {
        return expected.keySet();
    }

    /** Whether {@code attribute} was checked and read correctly. */
    public boolean isCorrect(Attribute attribute) {
        return correct.getOrDefault(attribute, false);
    }

    /** Share of the checked attributes read correctly, in [0, 1]; 1 when nothing was checked. */
    public double adherence() {
        if (correct.isEmpty()) {
            return 1;
        }
        return correct.values().stream().filter(Boolean::booleanValue).count() / (double) correct.size();
    }
}
