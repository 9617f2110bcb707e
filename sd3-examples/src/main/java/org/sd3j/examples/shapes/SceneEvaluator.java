package org.sd3j.examples.shapes;

import java.awt.image.BufferedImage;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.sd3j.image.Image;
import org.sd3j.internal.Checks;

/**
 * Scores prompt adherence: reads an image with an {@link AttributeReader} and compares the attributes its caption
 * states ({@link CaptionedScene#mentioned()}) with the scene's ground truth. To evaluate a model, caption scenes of
 * a seed it was not trained on ({@link SceneGenerator}), generate one image per caption, and
 * {@link #evaluate(BufferedImage, CaptionedScene)} each; {@link AdherenceTally} sums them up. Immutable and
 * thread-safe.
 */
public final class SceneEvaluator {
    private final AttributeReader reader;

    public SceneEvaluator() {
        this(new AttributeReader());
    }

    public SceneEvaluator(AttributeReader reader) {
        this.reader = Checks.notNull(reader, "reader");
    }

    /** Checks the attributes {@code expected}'s caption states. */
    public Evaluation evaluate(BufferedImage image, CaptionedScene expected) {
        Checks.notNull(expected, "expected");
        return evaluate(image, expected.scene(), expected.mentioned());
    }

    /** Checks the attributes {@code expected}'s caption states. */
    public Evaluation evaluate(Image image, CaptionedScene expected) {
        Checks.notNull(expected, "expected");
        return compare(reader.read(image), expected.scene(), expected.mentioned());
    }

    /**
     * Checks {@code attributes}, each of which {@code scene} must define ({@link Scene#attributes()}): all of them
     * for a score that ignores the caption style.
     */
    public Evaluation evaluate(BufferedImage image, Scene scene, Set<Attribute> attributes) {
        return compare(reader.read(image), scene, attributes);
    }

    /** Compares a reading with the scene's values of {@code attributes}. */
    public static Evaluation compare(SceneReading reading, Scene scene, Set<Attribute> attributes) {
        Checks.notNull(reading, "reading");
        Checks.notNull(scene, "scene");
        Checks.notNull(attributes, "attributes");
        Map<Attribute, Object> truth = scene.attributes();
        Map<Attribute, Object> expected = new EnumMap<>(Attribute.class);
        Map<Attribute, Boolean> correct = new EnumMap<>(Attribute.class);
        for (Attribute a : attributes) {
            Object value = truth.get(a);
            if (value == null) {
                throw new IllegalArgumentException("attributes must be ones the scene defines " + truth.keySet()
                        + ", found " + a);
            }
            expected.put(a, value);
            Optional<Object> read = reading.value(a);
            correct.put(a, read.isPresent() && read.get().equals(value));
        }
        return new Evaluation(expected, reading, correct);
    }
}
