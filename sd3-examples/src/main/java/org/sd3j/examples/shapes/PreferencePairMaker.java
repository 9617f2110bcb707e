package org.sd3j.examples.shapes;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.sd3j.image.Image;

/**
 * Automatic preference pairs for Diffusion-DPO: per caption, {@code candidates} images from consecutive seeds, each
 * read back by {@link SceneEvaluator}; the one with the largest share of its caption's attributes right is chosen
 * over the one with the smallest (the first of each on equal scores). Captions whose candidates all score the same
 * give no pair. Stateless; the painter is borrowed.
 */
public final class PreferencePairMaker {
    /**
     * Seed of the preference captions: neither the training data's ({@code DefaultModelRecipe.DATA_SEED}) nor the
     * held-out evaluation's ({@link PromptAdherence#HELD_OUT_SEED}).
     */
    public static final long PREFERENCE_SEED = 0xD0_7A1F5L;

    private final SceneEvaluator evaluator = new SceneEvaluator();

    /**
     * One pair.
     *
     * @param caption       the caption both images were drawn for
     * @param chosen        the better image
     * @param rejected      the worse one
     * @param chosenScore   the chosen image's adherence
     * @param rejectedScore the rejected image's adherence
     */
    public record Pair(CaptionedScene caption, Image chosen, Image rejected, double chosenScore,
                       double rejectedScore) {
    }

    /** Called after each caption with the pair it gave, or null. */
    public interface Progress {
        void onCaption(int index, Pair pair);
    }

    /** {@code count} preference captions ({@link #PREFERENCE_SEED}). */
    public static List<CaptionedScene> captions(int count) {
        return new SceneGenerator(PREFERENCE_SEED).range(0, count);
    }

    /**
     * Draws and scores the candidates of every caption.
     *
     * @param firstSeed  caption {@code i}'s candidate {@code k} uses seed {@code firstSeed + i * candidates + k}
     * @param candidates images per caption, at least 2
     * @return the pairs, in caption order
     */
    public List<Pair> make(PromptAdherence.Painter painter, List<CaptionedScene> captions, int candidates,
                           long firstSeed, Progress progress) {
        Objects.requireNonNull(painter, "painter");
        Objects.requireNonNull(captions, "captions");
        Objects.requireNonNull(progress, "progress");
        if (candidates < 2) {
            throw new IllegalArgumentException("candidates must be >= 2, found " + candidates);
        }
        List<Pair> pairs = new ArrayList<>();
        for (int i = 0; i < captions.size(); i++) {
            CaptionedScene c = captions.get(i);
            Image best = null;
            Image worst = null;
            double bestScore = Double.NEGATIVE_INFINITY;
            double worstScore = Double.POSITIVE_INFINITY;
            for (int k = 0; k < candidates; k++) {
                Image image = painter.draw(c.caption(), firstSeed + (long) i * candidates + k);
                double score = evaluator.evaluate(image, c).adherence();
                if (score > bestScore) {
                    best = image;
                    bestScore = score;
                }
                if (score < worstScore) {
                    worst = image;
                    worstScore = score;
                }
            }
            Pair pair = bestScore > worstScore ? new Pair(c, best, worst, bestScore, worstScore) : null;
            if (pair != null) {
                pairs.add(pair);
            }
            progress.onCaption(i, pair);
        }
        return pairs;
    }
}
