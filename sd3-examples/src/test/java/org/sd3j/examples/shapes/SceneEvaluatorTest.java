package org.sd3j.examples.shapes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import java.awt.image.BufferedImage;
import java.util.EnumSet;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.sd3j.image.Image;

class SceneEvaluatorTest {
    private static final ShapeScene SCENE = ShapeScene.single(Shape.CIRCLE, NamedColor.RED, NamedColor.BLUE,
            ObjectSize.LARGE, Position.TOP_LEFT, new SceneObject(0.25, 0.25, 0.45));
    private final SceneRenderer renderer = new SceneRenderer();
    private final SceneEvaluator evaluator = new SceneEvaluator();

    @Test
    void faithfulImageAdheresFully() {
        Evaluation e = evaluator.evaluate(renderer.render(SCENE), new CaptionedScene(SCENE, CaptionStyle.DETAILED));
        assertThat(e.checked()).containsExactly(Attribute.SHAPE, Attribute.COLOR, Attribute.BACKGROUND,
                Attribute.SIZE, Attribute.POSITION, Attribute.COUNT);
        assertThat(e.correct()).containsOnlyKeys(e.checked()).doesNotContainValue(false);
        assertThat(e.adherence()).isEqualTo(1.0);
    }

    @Test
    void wrongAttributesCountAgainstAdherence() {
        // The model drew a small green circle in the top left: colour and size are wrong, 4 of 6 right.
        ShapeScene drawn = ShapeScene.single(Shape.CIRCLE, NamedColor.GREEN, NamedColor.BLUE, ObjectSize.SMALL,
                Position.TOP_LEFT, new SceneObject(0.25, 0.25, 0.25));
        Evaluation e = evaluator.evaluate(renderer.render(drawn), new CaptionedScene(SCENE, CaptionStyle.DETAILED));
        assertThat(e.correct()).containsExactly(entry(Attribute.SHAPE, true), entry(Attribute.COLOR, false),
                entry(Attribute.BACKGROUND, true), entry(Attribute.SIZE, false), entry(Attribute.POSITION, true),
                entry(Attribute.COUNT, true));
        assertThat(e.adherence()).isEqualTo(4.0 / 6);
        assertThat(e.reading().color()).isEqualTo(NamedColor.GREEN);
        assertThat(e.expected()).containsEntry(Attribute.COLOR, NamedColor.RED);
    }

    @Test
    void onlyAttributesTheCaptionStatesAreScored() {
        ShapeScene drawn = ShapeScene.single(Shape.CIRCLE, NamedColor.RED, NamedColor.BLUE, ObjectSize.SMALL,
                Position.CENTER, new SceneObject(0.5, 0.5, 0.25));
        // "red circle, blue background" says nothing of size and place.
        Evaluation e = evaluator.evaluate(renderer.render(drawn), new CaptionedScene(SCENE, CaptionStyle.TERSE));
        assertThat(e.checked()).doesNotContain(Attribute.SIZE, Attribute.POSITION);
        assertThat(e.adherence()).isEqualTo(1.0);
    }

    @Test
    void signWordIsScored() {
        SignScene cat = new SignScene("CAT", NamedColor.WHITE, NamedColor.BLACK);
        BufferedImage drawn = renderer.render(new SignScene("CAR", NamedColor.WHITE, NamedColor.BLACK));
        Evaluation e = evaluator.evaluate(Image.fromBufferedImage(drawn), new CaptionedScene(cat, CaptionStyle.TERSE));
        assertThat(e.correct()).containsExactly(entry(Attribute.WORD, false));
        assertThat(e.reading().word()).isEqualTo("CAR");
        assertThat(e.adherence()).isZero();
    }

    @Test
    void missingObjectFailsEverythingButTheBackground() {
        BufferedImage blank = renderer.render(new SignScene("A", NamedColor.BLUE, NamedColor.WHITE));
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                blank.setRGB(x, y, NamedColor.BLUE.rgb());
            }
        }
        Evaluation e = evaluator.evaluate(blank, new CaptionedScene(SCENE, CaptionStyle.TERSE));
        assertThat(e.correct()).containsExactly(entry(Attribute.SHAPE, false), entry(Attribute.COLOR, false),
                entry(Attribute.BACKGROUND, true), entry(Attribute.COUNT, false));
    }

    @Test
    void rejectsAttributesTheSceneDoesNotDefine() {
        SceneReading reading = new SceneReading(NamedColor.BLUE, NamedColor.RED, 1, Shape.CIRCLE, null, null, null);
        assertThatThrownBy(() -> SceneEvaluator.compare(reading, SCENE, EnumSet.of(Attribute.WORD)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("attributes must be ones the scene defines [SHAPE, COLOR, BACKGROUND, SIZE, POSITION,"
                        + " COUNT], found WORD");
    }

    @Test
    void tallySumsEvaluations() {
        AdherenceTally tally = new AdherenceTally();
        assertThat(tally.meanAdherence()).isNaN();
        SceneReading right = new SceneReading(NamedColor.BLUE, NamedColor.RED, 1, Shape.CIRCLE, ObjectSize.LARGE,
                Position.TOP_LEFT, null);
        SceneReading wrongShape = new SceneReading(NamedColor.BLUE, NamedColor.RED, 1, Shape.SQUARE, null, null, null);
        tally.add(SceneEvaluator.compare(right, SCENE, SCENE.mentioned(CaptionStyle.DETAILED)));
        tally.add(SceneEvaluator.compare(wrongShape, SCENE, SCENE.mentioned(CaptionStyle.TERSE)));
        assertThat(tally.images()).isEqualTo(2);
        assertThat(tally.meanAdherence()).isEqualTo((1 + 3.0 / 4) / 2);
        assertThat(tally.attributeAccuracy()).isEqualTo(9.0 / 10);
        assertThat(tally.accuracy(Attribute.SHAPE)).isEqualTo(0.5);
        assertThat(tally.checked(Attribute.SIZE)).isEqualTo(1);
        assertThat(tally.accuracy(Attribute.WORD)).isNaN();
        assertThat(tally.toString()).isEqualTo("images 2, adherence 87.5%, attributes 90.0%: shape 50.0% (1/2),"
                + " color 100.0% (2/2), background 100.0% (2/2), size 100.0% (1/1), position 100.0% (1/1),"
                + " count 100.0% (2/2)");
    }

    @Test
    void formatsValuesAsCaptionWords() {
        Map<Attribute, Object> truth = SCENE.attributes();
        assertThat(Attribute.format(truth.get(Attribute.POSITION))).isEqualTo("top left");
        assertThat(Attribute.format(truth.get(Attribute.COUNT))).isEqualTo("1");
        assertThat(Attribute.format(null)).isEqualTo("none");
    }
}
