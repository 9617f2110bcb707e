package org.sd3j.examples.shapes;

import java.util.List;

/**
 * A head-to-head of two runs over the same captions and seeds: per caption, the run whose image gets the larger
 * share of its attributes right wins; equal shares tie (most captions, when both models are good). Immutable.
 *
 * @param wins   captions where the candidate scored higher than the baseline
 * @param losses captions where it scored lower
 * @param ties   captions where both scored the same
 */
public record WinRate(int wins, int losses, int ties) {
    /** Compares {@code candidate} with {@code baseline}, caption by caption. */
    public static WinRate of(List<Evaluation> candidate, List<Evaluation> baseline) {
        if (candidate.size() != baseline.size()) {
            throw new IllegalArgumentException("candidate and baseline must evaluate the same captions, found "
                    + candidate.size() + " and " + baseline.size() + " evaluations");
        }
        int w = 0;
        int l = 0;
        int t = 0;
        for (int i = 0; i < candidate.size(); i++) {
            int c = Double.compare(candidate.get(i).adherence(), baseline.get(i).adherence());
            if (c > 0) {
                w++;
            } else if (c < 0) {
                l++;
            } else {
                t++;
            }
        }
        return new WinRate(w, l, t);
    }

    /** Wins over decided captions (ties left out); 0.5 when none was decided. */
    public double decided() {
        return wins + losses == 0 ? 0.5 : wins / (double) (wins + losses);
    }

    /** Wins plus half the ties, over all captions. */
    public double tiesHalf() {
        int n = wins + losses + ties;
        return n == 0 ? 0.5 : (wins + 0.5 * ties) / n;
    }
}
