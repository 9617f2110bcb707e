package org.sd3j.examples.shapes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.sd3j.image.Image;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

class AttributeReaderTest {
    private static final Logger LOG = LoggerFactory.getLogger(AttributeReaderTest.class);
    private final SceneRenderer renderer = new SceneRenderer();
    private final AttributeReader reader = new AttributeReader();

    /** Reads {@code n} scenes of seed 2024, optionally degraded, and checks every attribute each scene defines. */
    private AdherenceTally readBack(int n, int size, ImageDegrader degrader) {
        AdherenceTally tally = new AdherenceTally();
        Random noise = new Random(99);
        for (CaptionedScene c : new SceneGenerator(2024).range(0, n)) {
            Scene scene = c.scene();
            int[] rgb = renderer.renderRgb(scene, size);
            if (degrader != null) {
                rgb = degrader.degrade(rgb, size, noise);
            }
            tally.add(SceneEvaluator.compare(reader.read(size, size, rgb), scene, scene.attributes().keySet()));
        }
        return tally;
    }

    @Test
    void readsTheGroundTruthOfCleanRenders() {
        AdherenceTally at64 = readBack(1000, 64, null);
        AdherenceTally at128 = readBack(300, 128, null);
        LOG.info("Clean renders, 64 px: {}", at64);
        LOG.info("Clean renders, 128 px: {}", at128);
        assertThat(at64.attributeAccuracy()).as("64 px: %s", at64).isGreaterThanOrEqualTo(0.98);
        assertThat(at128.attributeAccuracy()).as("128 px: %s", at128).isGreaterThanOrEqualTo(0.98);
        for (Attribute a : Attribute.values()) {
            assertThat(at64.checked(a)).as("images checking %s", a).isPositive();
            assertThat(at64.accuracy(a)).as("%s at 64 px: %s", a, at64).isGreaterThanOrEqualTo(0.95);
        }
    }

    @Test
    void survivesBlurNoiseAndAColourCast() {
        // About what a small model's 64 px images look like: edges soft over a pixel or two, colours a little off.
        AdherenceTally degraded = readBack(600, 64, new ImageDegrader(1.0, 10, 8));
        LOG.info("Degraded (blur sigma 1 px, colour shift up to 10/255, noise sigma 8/255), 64 px: {}", degraded);
        assertThat(degraded.attributeAccuracy()).as("%s", degraded).isGreaterThanOrEqualTo(0.95);
        for (Attribute a : Attribute.values()) {
            assertThat(degraded.accuracy(a)).as("%s: %s", a, degraded).isGreaterThanOrEqualTo(0.9);
        }
    }

    @Test
    void degradesGracefullyUnderHeavierDamage() {
        AdherenceTally heavy = readBack(300, 64, new ImageDegrader(1.5, 20, 16));
        LOG.info("Heavily degraded (blur sigma 1.5 px, colour shift up to 20/255, noise sigma 16/255), 64 px: {}",
                heavy);
        assertThat(heavy.attributeAccuracy()).as("%s", heavy).isGreaterThanOrEqualTo(0.8);
    }

    @Test
    void plainBackgroundHasNoObjects() {
        int[] rgb = new int[64 * 64];
        Arrays.fill(rgb, NamedColor.PURPLE.rgb());
        SceneReading reading = reader.read(64, 64, rgb);
        assertThat(reading).isEqualTo(new SceneReading(NamedColor.PURPLE, null, 0, null, null, null, null));
        assertThat(reading.value(Attribute.COLOR)).isEmpty();
        assertThat(reading.value(Attribute.COUNT)).contains(0);
    }

    @Test
    void readsALoneObjectCompletely() {
        ShapeScene scene = ShapeScene.single(Shape.TRIANGLE, NamedColor.YELLOW, NamedColor.GRAY, ObjectSize.LARGE,
                Position.BOTTOM_RIGHT, new SceneObject(0.74, 0.75, 0.44));
        SceneReading reading = reader.read(renderer.render(scene, 128));
        assertThat(reading).isEqualTo(new SceneReading(NamedColor.GRAY, NamedColor.YELLOW, 1, Shape.TRIANGLE,
                ObjectSize.LARGE, Position.BOTTOM_RIGHT, reading.word()));
    }

    @Test
    void countsAGroupAndNamesItsShape() {
        ShapeScene scene = ShapeScene.group(Shape.STAR, NamedColor.BLACK, NamedColor.WHITE,
                List.of(new SceneObject(0.2, 0.2, 0.24), new SceneObject(0.75, 0.3, 0.24),
                        new SceneObject(0.45, 0.75, 0.24)));
        SceneReading reading = reader.read(renderer.render(scene, 64));
        assertThat(reading.count()).isEqualTo(3);
        assertThat(reading.shape()).isEqualTo(Shape.STAR);
        assertThat(reading.color()).isEqualTo(NamedColor.BLACK);
        assertThat(reading.background()).isEqualTo(NamedColor.WHITE);
    }

    @Test
    void readsEverySignWord() {
        for (String word : CaptionVocabulary.signWords()) {
            SignScene sign = new SignScene(word, NamedColor.WHITE, NamedColor.BLUE);
            assertThat(reader.read(renderer.render(sign, 64)).word()).isEqualTo(word);
        }
    }

    @Test
    void readsWordsItWasNotMadeFor() {
        // No dictionary: any letters read, the whole alphabet included.
        for (String word : new String[] {"ABCDE", "FGHIJ", "KLMNO", "PQRST", "UVWXY", "Z", "QUIZ"}) {
            SignScene sign = new SignScene(word, NamedColor.BLACK, NamedColor.YELLOW);
            assertThat(reader.read(renderer.render(sign, 128)).word()).isEqualTo(word);
        }
    }

    @Test
    void coreImagesReadLikeBufferedImages() {
        Scene scene = new SceneGenerator(4).get(3).scene();
        BufferedImage buffered = renderer.render(scene, 64);
        assertThat(reader.read(Image.fromBufferedImage(buffered))).isEqualTo(reader.read(buffered));
    }

    @Test
    void rejectsPixelArraysOfTheWrongLength() {
        assertThatThrownBy(() -> reader.read(64, 64, new int[100]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("rgb.length must be width * height (64 x 64), found 100");
        assertThatThrownBy(() -> reader.read(8, 8, new int[64]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("image must be at least 16 px on each side, found 8x8");
    }
}
