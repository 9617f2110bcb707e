package org.sd3j.examples.shapes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.awt.image.BufferedImage;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SceneRendererTest {
    private final SceneRenderer renderer = new SceneRenderer();

    @Test
    void sameSeedRendersTheSameBytes() {
        List<CaptionedScene> first = new SceneGenerator(9).range(0, 60);
        List<CaptionedScene> second = new SceneGenerator(9).range(0, 60);
        for (int i = 0; i < first.size(); i++) {
            for (int size : new int[] {64, 128}) {
                assertThat(new SceneRenderer().renderRgb(second.get(i).scene(), size))
                        .isEqualTo(renderer.renderRgb(first.get(i).scene(), size));
            }
        }
    }

    @Test
    void renderGivesAnRgbImageOfTheDefaultSize() {
        BufferedImage image = renderer.render(new SceneGenerator(1).get(0).scene());
        assertThat(image.getType()).isEqualTo(BufferedImage.TYPE_INT_RGB);
        assertThat(image.getWidth()).isEqualTo(64);
        assertThat(image.getHeight()).isEqualTo(64);
    }

    @ParameterizedTest
    @EnumSource(Shape.class)
    void inkedAreaMatchesTheOutlineArea(Shape shape) {
        double extent = 0.45;
        ShapeScene scene = ShapeScene.single(shape, NamedColor.WHITE, NamedColor.BLACK, ObjectSize.LARGE,
                Position.CENTER, new SceneObject(0.5, 0.5, extent));
        for (int size : new int[] {64, 128}) {
            int[] rgb = renderer.renderRgb(scene, size);
            double covered = 0;
            for (int p : rgb) {
                // Black to white: the green channel is 20 + 225 * coverage.
                covered += (((p >> 8) & 0xff) - 0x14) / (double) (0xF5 - 0x14);
            }
            double expected = unitArea(shape) * extent * extent;
            // 4x4 samples per pixel round an edge's coverage to quarters: a few percent at 64 px.
            double tolerance = 2.0 / size;
            assertThat(covered / (size * size)).as("%s at %d px", shape, size)
                    .isCloseTo(expected, offset(tolerance * expected));
        }
    }

    /** The outline's area as a share of its extent squared, from its geometry. */
    private static double unitArea(Shape shape) {
        return switch (shape) {
            case CIRCLE -> Math.PI / 4;
            case SQUARE -> 1;
            case TRIANGLE -> 0.9 / 2;
            case DIAMOND -> 0.8 / 2;
            case CROSS -> 2 * 0.36 - 0.36 * 0.36;
            case STAR -> {
                // Ten triangles between outer radius 1 and inner radius 0.45, 36 degrees apart; the star is
                // 2 sin 72 wide, its larger side.
                double width = 2 * Math.sin(Math.toRadians(72));
                yield 5 * 0.45 * Math.sin(Math.toRadians(36)) / (width * width);
            }
        };
    }

    @Test
    void pixelsAwayFromTheObjectAreBackgroundAndItsMiddleIsInk() {
        ShapeScene scene = ShapeScene.single(Shape.SQUARE, NamedColor.RED, NamedColor.BLUE, ObjectSize.SMALL,
                Position.TOP_LEFT, new SceneObject(0.25, 0.25, 0.25));
        int[] rgb = renderer.renderRgb(scene, 64);
        // The square spans 0.125..0.375 of the side: pixels 8..23 (24 is 0.375 exactly, outside).
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                int expected = x >= 8 && x < 24 && y >= 8 && y < 24 ? NamedColor.RED.rgb() : NamedColor.BLUE.rgb();
                assertThat(rgb[y * 64 + x]).as("(%d, %d)", x, y).isEqualTo(expected);
            }
        }
    }

    @Test
    void edgesAreAntiAliased() {
        // A circle's edge crosses pixels, which get colours between ink and background.
        ShapeScene scene = ShapeScene.single(Shape.CIRCLE, NamedColor.WHITE, NamedColor.BLACK, ObjectSize.LARGE,
                Position.CENTER, new SceneObject(0.5, 0.5, 0.45));
        long partial = java.util.Arrays.stream(renderer.renderRgb(scene, 64))
                .filter(p -> p != NamedColor.WHITE.rgb() && p != NamedColor.BLACK.rgb()).count();
        // About the circumference in pixels: pi * 0.45 * 64 = 90.
        assertThat(partial).isBetween(60L, 130L);
    }

    @Test
    void signCellsAreInkExactlyWhereTheGlyphsAre() {
        SignScene sign = new SignScene("FOX", NamedColor.BLACK, NamedColor.WHITE);
        int size = 128;
        int[] rgb = renderer.renderRgb(sign, size);
        // Three letters of 5 cells with 1-cell gaps (17 cells) across the middle 90% of the width, 7 cells tall.
        double cell = 0.9 / 17;
        double left = 0.05;
        double top = 0.5 - 3.5 * cell;
        for (int k = 0; k < 3; k++) {
            for (int row = 0; row < 7; row++) {
                for (int column = 0; column < 5; column++) {
                    int x = (int) ((left + (6 * k + column + 0.5) * cell) * size);
                    int y = (int) ((top + (row + 0.5) * cell) * size);
                    int expected = BitmapFont.ink("FOX".charAt(k), column, row) ? NamedColor.BLACK.rgb()
                            : NamedColor.WHITE.rgb();
                    assertThat(rgb[y * size + x]).as("letter %d cell %d,%d", k, column, row).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void rejectsSizesOutOfRange() {
        Scene scene = new SceneGenerator(1).get(0).scene();
        assertThatThrownBy(() -> renderer.renderRgb(scene, 8)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("size must be in [16, 1024], found 8");
    }
}
