package org.sd3j.examples.shapes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.sd3j.image.Image;

class PreferencePairMakerTest {
    private final SceneRenderer renderer = new SceneRenderer();

    @Test
    void pairsTheBestCandidateWithTheWorstAndSkipsCaptionsWithoutADifference() {
        List<CaptionedScene> captions = PreferencePairMaker.captions(6);
        // Odd seeds draw the right scene, even ones a blank grey image; caption 5 is drawn right whatever the seed.
        PromptAdherence.Painter painter = (caption, seed) -> {
            CaptionedScene c = captions.stream().filter(s -> s.caption().equals(caption)).findFirst().orElseThrow();
            boolean right = seed % 2 == 1 || c == captions.get(5);
            return right ? Image.fromBufferedImage(renderer.render(c.scene(), 64)) : grey();
        };
        List<Integer> seen = new ArrayList<>();
        List<PreferencePairMaker.Pair> pairs = new PreferencePairMaker().make(painter, captions, 2, 10,
                (i, pair) -> seen.add(i));
        assertThat(seen).containsExactly(0, 1, 2, 3, 4, 5);
        assertThat(pairs).hasSize(5);
        for (PreferencePairMaker.Pair p : pairs) {
            assertThat(p.chosenScore()).isEqualTo(1.0);
            assertThat(p.rejectedScore()).isLessThan(1.0);
        }
        assertThat(pairs).extracting(PreferencePairMaker.Pair::caption).doesNotContain(captions.get(5));
    }

    @Test
    void theCaptionsAreApartFromTheHeldOutOnes() {
        assertThat(PreferencePairMaker.captions(50)).doesNotContainAnyElementsOf(PromptAdherence.heldOutCaptions(50));
        assertThatThrownBy(() -> new PreferencePairMaker().make((c, s) -> grey(), PreferencePairMaker.captions(1), 1,
                0, (i, p) -> { })).hasMessage("candidates must be >= 2, found 1");
    }

    @Test
    void winRateCountsWinsLossesAndTies() {
        CaptionedScene c = PreferencePairMaker.captions(1).get(0);
        SceneEvaluator evaluator = new SceneEvaluator();
        Evaluation right = evaluator.evaluate(Image.fromBufferedImage(renderer.render(c.scene(), 64)), c);
        Evaluation wrong = evaluator.evaluate(grey(), c);
        WinRate w = WinRate.of(List.of(right, wrong, right, right), List.of(wrong, right, right, wrong));
        assertThat(w).isEqualTo(new WinRate(2, 1, 1));
        assertThat(w.decided()).isEqualTo(2 / 3.0);
        assertThat(w.tiesHalf()).isEqualTo(2.5 / 4);
    }

    private static Image grey() {
        byte[] rgb = new byte[64 * 64 * 3];
        java.util.Arrays.fill(rgb, (byte) 128);
        return Image.of(64, 64, rgb);
    }
}
