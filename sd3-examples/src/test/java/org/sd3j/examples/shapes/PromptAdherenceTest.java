package org.sd3j.examples.shapes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.sd3j.image.Image;
import org.sd3j.model.LatentDistribution;
import org.sd3j.model.LatentFormat;
import org.sd3j.model.Vae;
import org.sd3j.tensor.Tensor;

class PromptAdherenceTest {
    private final SceneRenderer renderer = new SceneRenderer();

    @Test
    void aModelThatDrawsExactlyTheCaptionScoresFullAdherenceAndNoDistance() {
        List<CaptionedScene> captions = PromptAdherence.heldOutCaptions(40);
        List<Long> seeds = new ArrayList<>();
        PromptAdherence.Result r = new PromptAdherence().run((caption, seed) -> {
            seeds.add(seed);
            return Image.fromBufferedImage(renderer.render(captions.get((int) (seed - 100)).scene()));
        }, captions, 100, (i, c, e, image) -> { });

        assertThat(seeds).first().isEqualTo(100L);
        assertThat(seeds).last().isEqualTo(139L);
        assertThat(r.tally().attributeAccuracy()).isEqualTo(1.0);
        assertThat(r.evaluations()).hasSize(40);
        assertThat(r.frechetDistance()).isCloseTo(0.0, org.assertj.core.api.Assertions.within(1e-6));
    }

    @Test
    void aModelThatIgnoresThePromptScoresLowAndFar() {
        List<CaptionedScene> captions = PromptAdherence.heldOutCaptions(40);
        Image same = Image.fromBufferedImage(renderer.render(captions.get(0).scene()));
        PromptAdherence.Result r = new PromptAdherence().run((caption, seed) -> same, captions, 0,
                (i, c, e, image) -> { });

        assertThat(r.tally().attributeAccuracy()).isLessThan(0.5);
        assertThat(r.frechetDistance()).isGreaterThan(0.5);
    }

    @Test
    void anExactAutoencoderReconstructsFullAdherenceAndABlurryOneLosesShapesFirst() {
        List<CaptionedScene> captions = PromptAdherence.heldOutCaptions(60);
        PromptAdherence adherence = new PromptAdherence();

        PromptAdherence.Result exact = adherence.reconstructions(new BlockVae(1), captions, 64, (i, c, e, im) -> { });
        PromptAdherence.Result blocky = adherence.reconstructions(new BlockVae(8), captions, 64, (i, c, e, im) -> { });

        assertThat(exact.tally().attributeAccuracy()).isEqualTo(1.0);
        assertThat(exact.frechetDistance()).isCloseTo(0.0, org.assertj.core.api.Assertions.within(1e-6));
        // 8x8 blocks keep flat colours (the background) but not the outlines that tell shapes apart.
        assertThat(blocky.tally().accuracy(Attribute.BACKGROUND)).isGreaterThan(0.9);
        assertThat(blocky.tally().accuracy(Attribute.SHAPE)).isLessThan(0.6);
        assertThat(blocky.frechetDistance()).isGreaterThan(exact.frechetDistance());
        assertThatThrownBy(() -> adherence.reconstructions(new BlockVae(8), captions, 60, (i, c, e, im) -> { }))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("size must be a positive multiple of the autoencoder's downscale 8, found 60");
    }

    /** Latents are the image averaged over f x f blocks; decoding repeats each block. */
    private record BlockVae(int f) implements Vae {
        @Override
        public LatentFormat latentFormat() {
            return new LatentFormat(3, f, 1, 0);
        }

        @Override
        public LatentDistribution encode(Tensor images) {
            int h = images.dim(2) / f;
            int w = images.dim(3) / f;
            Tensor mean = Tensor.zeros(1, 3, h, w);
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < h * f; y++) {
                    for (int x = 0; x < w * f; x++) {
                        int cell = (c * h + y / f) * w + x / f;
                        mean.set(cell, mean.get(cell) + images.get((c * h * f + y) * w * f + x) / (f * f));
                    }
                }
            }
            return new LatentDistribution(mean, Tensor.zeros(1, 3, h, w));
        }

        @Override
        public Tensor decode(Tensor latents) {
            int h = latents.dim(2);
            int w = latents.dim(3);
            Tensor out = Tensor.zeros(1, 3, h * f, w * f);
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < h * f; y++) {
                    for (int x = 0; x < w * f; x++) {
                        out.set((c * h * f + y) * w * f + x, latents.get((c * h + y / f) * w + x / f));
                    }
                }
            }
            return out;
        }
    }

    @Test
    void validationCaptionsAreNeitherHeldOutNorPreferenceCaptions() {
        List<CaptionedScene> validation = PromptAdherence.validationCaptions(50);

        assertThat(validation).hasSize(50).doesNotContainAnyElementsOf(PromptAdherence.heldOutCaptions(50))
                .doesNotContainAnyElementsOf(PreferencePairMaker.captions(50));
        assertThatThrownBy(() -> PromptAdherence.validationCaptions(1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void needsTwoCaptions() {
        assertThatThrownBy(() -> PromptAdherence.heldOutCaptions(1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("count must be >= 2 (a Frechet distance needs two images), found 1");
    }
}
