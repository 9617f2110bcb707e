package org.sd3j.examples.shapes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

class CaptionTest {
    private static final ShapeScene LARGE_RED_CIRCLE_TOP_LEFT = ShapeScene.single(Shape.CIRCLE, NamedColor.RED,
            NamedColor.BLUE, ObjectSize.LARGE, Position.TOP_LEFT, new SceneObject(0.26, 0.25, 0.45));
    private static final ShapeScene SMALL_ORANGE_CROSS_CENTER = ShapeScene.single(Shape.CROSS, NamedColor.ORANGE,
            NamedColor.WHITE, ObjectSize.SMALL, Position.CENTER, new SceneObject(0.5, 0.5, 0.25));
    private static final ShapeScene TWO_GREEN_SQUARES = ShapeScene.group(Shape.SQUARE, NamedColor.GREEN,
            NamedColor.ORANGE, List.of(new SceneObject(0.2, 0.2, 0.25), new SceneObject(0.7, 0.7, 0.25)));
    private static final SignScene CAT = new SignScene("CAT", NamedColor.WHITE, NamedColor.ORANGE);

    @Test
    void terseCaptions() {
        assertThat(LARGE_RED_CIRCLE_TOP_LEFT.caption(CaptionStyle.TERSE)).isEqualTo("red circle, blue background");
        assertThat(TWO_GREEN_SQUARES.caption(CaptionStyle.TERSE)).isEqualTo("two green squares, orange background");
        assertThat(CAT.caption(CaptionStyle.TERSE)).isEqualTo("sign CAT");
    }

    @Test
    void detailedCaptions() {
        assertThat(LARGE_RED_CIRCLE_TOP_LEFT.caption(CaptionStyle.DETAILED))
                .isEqualTo("a large red circle in the top left on a blue background");
        assertThat(SMALL_ORANGE_CROSS_CENTER.caption(CaptionStyle.DETAILED))
                .isEqualTo("a small orange cross in the center on a white background");
        assertThat(TWO_GREEN_SQUARES.caption(CaptionStyle.DETAILED))
                .isEqualTo("two green squares on an orange background");
        assertThat(CAT.caption(CaptionStyle.DETAILED))
                .isEqualTo("a sign that says CAT, white letters on an orange background");
    }

    @Test
    void pluralsAndPhrases() {
        ShapeScene crosses = ShapeScene.group(Shape.CROSS, NamedColor.BLACK, NamedColor.YELLOW,
                List.of(new SceneObject(0.2, 0.2, 0.25), new SceneObject(0.7, 0.7, 0.25),
                        new SceneObject(0.2, 0.7, 0.25)));
        assertThat(crosses.caption(CaptionStyle.TERSE)).isEqualTo("three black crosses, yellow background");
        ShapeScene bottom = ShapeScene.single(Shape.STAR, NamedColor.GRAY, NamedColor.BLACK, ObjectSize.SMALL,
                Position.BOTTOM, new SceneObject(0.5, 0.75, 0.25));
        assertThat(bottom.caption(CaptionStyle.DETAILED))
                .isEqualTo("a small gray star at the bottom on a black background");
    }

    @Test
    void mentionedAttributesFollowTheStyle() {
        assertThat(LARGE_RED_CIRCLE_TOP_LEFT.mentioned(CaptionStyle.TERSE))
                .containsExactly(Attribute.SHAPE, Attribute.COLOR, Attribute.BACKGROUND, Attribute.COUNT);
        assertThat(LARGE_RED_CIRCLE_TOP_LEFT.mentioned(CaptionStyle.DETAILED)).containsExactly(Attribute.SHAPE,
                Attribute.COLOR, Attribute.BACKGROUND, Attribute.SIZE, Attribute.POSITION, Attribute.COUNT);
        assertThat(TWO_GREEN_SQUARES.mentioned(CaptionStyle.DETAILED))
                .containsExactly(Attribute.SHAPE, Attribute.COLOR, Attribute.BACKGROUND, Attribute.COUNT);
        assertThat(CAT.mentioned(CaptionStyle.TERSE)).containsExactly(Attribute.WORD);
        assertThat(CAT.mentioned(CaptionStyle.DETAILED))
                .containsExactly(Attribute.COLOR, Attribute.BACKGROUND, Attribute.WORD);
    }

    @Test
    void attributesAreTheGroundTruth() {
        assertThat(LARGE_RED_CIRCLE_TOP_LEFT.attributes()).containsExactly(
                org.assertj.core.api.Assertions.entry(Attribute.SHAPE, Shape.CIRCLE),
                org.assertj.core.api.Assertions.entry(Attribute.COLOR, NamedColor.RED),
                org.assertj.core.api.Assertions.entry(Attribute.BACKGROUND, NamedColor.BLUE),
                org.assertj.core.api.Assertions.entry(Attribute.SIZE, ObjectSize.LARGE),
                org.assertj.core.api.Assertions.entry(Attribute.POSITION, Position.TOP_LEFT),
                org.assertj.core.api.Assertions.entry(Attribute.COUNT, 1));
        assertThat(CAT.attributes()).containsOnlyKeys(Attribute.COLOR, Attribute.BACKGROUND, Attribute.WORD)
                .containsEntry(Attribute.WORD, "CAT");
    }

    @Test
    void everyCaptionWordIsInTheVocabularyAndEveryWordIsUsed() {
        Set<String> vocabulary = new HashSet<>(CaptionVocabulary.words());
        Set<String> used = new HashSet<>();
        for (CaptionedScene c : new SceneGenerator(1).range(0, 4000)) {
            for (CaptionStyle style : CaptionStyle.values()) {
                String caption = c.scene().caption(style);
                assertThat(caption).matches("[A-Za-z]+(,? [A-Za-z]+)*");
                used.addAll(CaptionVocabulary.split(caption));
            }
        }
        assertThat(vocabulary).containsExactlyInAnyOrderElementsOf(used);
        assertThat(CaptionVocabulary.words()).doesNotHaveDuplicates().isEqualTo(SceneGenerator.vocabulary());
    }

    @Test
    void signWordsAreShortUppercaseAndNoOtherCaptionWord() {
        Set<String> lowercaseRest = new HashSet<>(CaptionVocabulary.words());
        lowercaseRest.removeAll(CaptionVocabulary.signWords());
        assertThat(CaptionVocabulary.signWords()).hasSizeBetween(20, 40).doesNotHaveDuplicates()
                .allSatisfy(w -> {
                    assertThat(w).matches("[A-Z]{3,4}");
                    assertThat(lowercaseRest).doesNotContain(w.toLowerCase(java.util.Locale.ROOT));
                });
    }

    @Test
    void splitDropsCommasAndSpaces() {
        assertThat(CaptionVocabulary.split("red circle, blue background"))
                .containsExactly("red", "circle", "blue", "background");
    }

    @Test
    void sceneChecksAgreeWithTheCaption() {
        assertThatThrownBy(() -> ShapeScene.single(Shape.CIRCLE, NamedColor.RED, NamedColor.BLUE, ObjectSize.SMALL,
                Position.TOP_LEFT, new SceneObject(0.25, 0.25, 0.45)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("object.extent must be of size small, found 0.45");
        assertThatThrownBy(() -> ShapeScene.single(Shape.CIRCLE, NamedColor.RED, NamedColor.BLUE, ObjectSize.LARGE,
                Position.TOP_LEFT, new SceneObject(0.5, 0.25, 0.45)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("object centre must be in the top left cell, found 0.5, 0.25 (top)");
        assertThatThrownBy(() -> ShapeScene.group(Shape.CIRCLE, NamedColor.RED, NamedColor.RED,
                List.of(new SceneObject(0.2, 0.2, 0.2), new SceneObject(0.8, 0.8, 0.2))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("background must differ from the object colour, found red");
        assertThatThrownBy(() -> new SignScene("cat", NamedColor.RED, NamedColor.BLUE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("word must be 1 to 5 letters A-Z, found 'cat'");
        assertThatThrownBy(() -> new SceneObject(0.5, 0.5, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("extent must be in (0, 1], found 0.0");
    }
}
