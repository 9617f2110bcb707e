package org.sd3j.examples.shapes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.sd3j.image.Image;

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
    void needsTwoCaptions() {
        assertThatThrownBy(() -> PromptAdherence.heldOutCaptions(1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("count must be >= 2 (a Frechet distance needs two images), found 1");
    }
}
