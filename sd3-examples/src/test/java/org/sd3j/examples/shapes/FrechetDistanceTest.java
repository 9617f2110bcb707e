package org.sd3j.examples.shapes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

class FrechetDistanceTest {
    private static final Logger LOG = LoggerFactory.getLogger(FrechetDistanceTest.class);

    @Test
    void oneDimensionIsMeanGapSquaredPlusSpreadGapSquared() {
        // For N(m1, s1^2) and N(m2, s2^2): (m1 - m2)^2 + s1^2 + s2^2 - 2 s1 s2 = (m1 - m2)^2 + (s1 - s2)^2.
        GaussianFit a = new GaussianFit(new double[] {1}, new double[][] {{4}});
        GaussianFit b = new GaussianFit(new double[] {4}, new double[][] {{9}});
        assertThat(FrechetDistance.between(a, b)).isCloseTo(9 + 1, offset(1e-12));
    }

    @Test
    void diagonalCovariancesAddUpPerDimension() {
        GaussianFit a = new GaussianFit(new double[] {0, 1, 2}, new double[][] {{1, 0, 0}, {0, 4, 0}, {0, 0, 0}});
        GaussianFit b = new GaussianFit(new double[] {1, 1, 0}, new double[][] {{9, 0, 0}, {0, 1, 0}, {0, 0, 16}});
        double expected = (1 + 0 + 4) + (1 - 3) * (1 - 3) + (2 - 1) * (2 - 1) + (0 - 4) * (0 - 4);
        assertThat(FrechetDistance.between(a, b)).isCloseTo(expected, offset(1e-9));
    }

    @Test
    void correlatedCovariancesMatchTheTwoByTwoClosedForm() {
        // For 2x2 M with non-negative eigenvalues, Tr sqrt(M) = sqrt(Tr M + 2 sqrt(det M)); M = S1 S2 here.
        double[][] s1 = {{2, 1}, {1, 2}};
        double[][] s2 = {{1, -0.5}, {-0.5, 4}};
        double[][] m = {
            {s1[0][0] * s2[0][0] + s1[0][1] * s2[1][0], s1[0][0] * s2[0][1] + s1[0][1] * s2[1][1]},
            {s1[1][0] * s2[0][0] + s1[1][1] * s2[1][0], s1[1][0] * s2[0][1] + s1[1][1] * s2[1][1]}};
        double traceM = m[0][0] + m[1][1];
        double detM = m[0][0] * m[1][1] - m[0][1] * m[1][0];
        double traceRoot = Math.sqrt(traceM + 2 * Math.sqrt(detM));
        double expected = 3 * 3 + (2 + 2) + (1 + 4) - 2 * traceRoot;
        GaussianFit a = new GaussianFit(new double[] {0, 0}, s1);
        GaussianFit b = new GaussianFit(new double[] {3, 0}, s2);
        assertThat(FrechetDistance.between(a, b)).isCloseTo(expected, offset(1e-9));
        assertThat(FrechetDistance.between(b, a)).isCloseTo(expected, offset(1e-9));
    }

    @Test
    void fitUsesTheUnbiasedCovariance() {
        GaussianFit fit = GaussianFit.of(List.of(new double[] {-1, 2}, new double[] {1, 4}));
        assertThat(fit.mean()).containsExactly(0, 3);
        // Deviations (-1, -1) and (1, 1): sums of products 2, divided by n - 1 = 1.
        assertThat(fit.covariance()).isDeepEqualTo(new double[][] {{2, 2}, {2, 2}});
    }

    @Test
    void setAgainstItselfIsZero() {
        List<double[]> features = features(new SceneGenerator(1), 150, false);
        assertThat(FrechetDistance.between(features, features)).isCloseTo(0, offset(1e-9));
    }

    @Test
    void otherSeedIsCloseAndAShiftedDistributionIsFar() {
        List<double[]> reference = features(new SceneGenerator(1), 300, false);
        double sameGenerator = FrechetDistance.between(reference, features(new SceneGenerator(2), 300, false));
        double shifted = FrechetDistance.between(reference, features(new SceneGenerator(2), 300, true));
        LOG.info("Frechet distance to seed 2: {}; to seed 2 on black backgrounds: {}", sameGenerator, shifted);
        assertThat(sameGenerator).isPositive();
        assertThat(shifted).as("shifted %s vs same generator %s", shifted, sameGenerator)
                .isGreaterThan(10 * sameGenerator);
    }

    /**
     * Features of {@code n} scenes; when {@code darkened}, every background is black (white behind black ink),
     * unlike the generator's uniform backgrounds.
     */
    private static List<double[]> features(SceneGenerator generator, int n, boolean darkened) {
        SceneRenderer renderer = new SceneRenderer();
        ImageFeatures features = new ImageFeatures();
        List<double[]> out = new ArrayList<>();
        for (CaptionedScene c : generator.range(0, n)) {
            Scene scene = c.scene();
            if (darkened) {
                NamedColor background = scene.color() == NamedColor.BLACK ? NamedColor.WHITE : NamedColor.BLACK;
                scene = scene instanceof ShapeScene s
                        ? s.count() == 1
                        ? ShapeScene.single(s.shape(), s.color(), background, s.size().orElseThrow(),
                        s.position().orElseThrow(), s.objects().get(0))
                        : ShapeScene.group(s.shape(), s.color(), background, s.objects())
                        : new SignScene(((SignScene) scene).word(), scene.color(), background);
            }
            out.add(features.of(renderer.render(scene)));
        }
        return out;
    }

    @Test
    void featuresDescribeColoursAndInk() {
        ShapeScene scene = ShapeScene.single(Shape.SQUARE, NamedColor.RED, NamedColor.BLUE, ObjectSize.SMALL,
                Position.TOP_LEFT, new SceneObject(0.25, 0.25, 0.25));
        double[] f = new ImageFeatures().of(new SceneRenderer().render(scene, 64));
        assertThat(f).hasSize(ImageFeatures.LENGTH);
        // A 16 x 16 px red square (pixels 8..23) on blue.
        double share = 16.0 * 16 / (64 * 64);
        assertThat(f[NamedColor.RED.ordinal()]).isCloseTo(share, offset(1e-12));
        assertThat(f[NamedColor.BLUE.ordinal()]).isCloseTo(1 - share, offset(1e-12));
        int ink = NamedColor.values().length;
        assertThat(f[ink]).isCloseTo(share, offset(1e-12));
        assertThat(f[ink + 1]).isCloseTo(0.25, offset(1e-12));
        assertThat(f[ink + 2]).isCloseTo(0.25, offset(1e-12));
        // Variance of 16 evenly spaced pixel centres, one pixel (1/64) apart: (16^2 - 1) / 12 pixels squared.
        assertThat(f[ink + 3]).isCloseTo((16 * 16 - 1) / 12.0 / (64 * 64), offset(1e-12));
        assertThat(f[ink + 5]).isCloseTo(0, offset(1e-12));
        assertThat(f[ink + 6]).isEqualTo(1);
    }

    @Test
    void rejectsMismatchedInputs() {
        GaussianFit one = new GaussianFit(new double[] {0}, new double[][] {{1}});
        GaussianFit two = new GaussianFit(new double[] {0, 0}, new double[][] {{1, 0}, {0, 1}});
        assertThatThrownBy(() -> FrechetDistance.between(one, two)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("second.dimension must be 1, found 2");
        assertThatThrownBy(() -> GaussianFit.of(List.of(new double[] {1})))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("samples.size must be >= 2, found 1");
        assertThatThrownBy(() -> new GaussianFit(new double[] {0, 0}, new double[][] {{1, 2}, {0, 1}}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("covariance must be symmetric, found [1][0] = 0.0 and [0][1] = 2.0");
    }

    @Test
    void randomGaussianSamplesConvergeToTheirDistance() {
        // Two 2-D Gaussians with known parameters: the fitted distance approaches the exact one.
        Random random = new Random(3);
        List<double[]> a = new ArrayList<>();
        List<double[]> b = new ArrayList<>();
        for (int i = 0; i < 20000; i++) {
            a.add(new double[] {random.nextGaussian(), 2 * random.nextGaussian()});
            b.add(new double[] {1 + 3 * random.nextGaussian(), 2 * random.nextGaussian()});
        }
        // (1)^2 + (1 - 3)^2 + (2 - 2)^2 = 5.
        assertThat(FrechetDistance.between(a, b)).isCloseTo(5, offset(0.15));
    }
}
