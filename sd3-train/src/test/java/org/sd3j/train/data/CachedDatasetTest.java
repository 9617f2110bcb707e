package org.sd3j.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.model.EncoderRole;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeTextEncoder;

/**
 * {@link CachedDataset} over a cache of 22 items in two buckets (13 of 32x32, 9 of 48x32), built once from
 * {@link SmallModel}'s fakes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CachedDatasetTest {
    private static final int ITEMS = 22;
    private PrecomputeCache cache;

    @BeforeAll
    void build(@TempDir Path tmp) {
        Path data = tmp.resolve("data");
        for (int i = 0; i < ITEMS; i++) {
            boolean wide = i % 5 == 1 || i % 5 == 3;
            TestImages.withCaption(data, String.format("img%02d.png", i), wide ? 48 : 32, 32, i, "caption " + i);
        }
        ImageCaptionDataset scanned = ImageCaptionDataset.scan(data, AspectBuckets.of(List.of(
                new BucketSize(32, 32), new BucketSize(48, 32))));
        cache = PrecomputeCache.build(scanned, SmallModel.model(), tmp.resolve("cache"));
    }

    private CachedDataset open(CachedDataset.Options.Builder options) {
        return CachedDataset.open(cache, cache.fingerprint(), options.build());
    }

    private static List<TrainingBatch> take(BatchIterator it, int n) {
        List<TrainingBatch> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(it.next());
        }
        return out;
    }

    private static void assertSameBatches(List<TrainingBatch> a, List<TrainingBatch> b) {
        assertThat(b).hasSameSizeAs(a);
        for (int i = 0; i < a.size(); i++) {
            assertThat(b.get(i).position()).isEqualTo(a.get(i).position());
            assertThat(b.get(i).samples()).isEqualTo(a.get(i).samples());
            assertThat(b.get(i).latents().maxAbsDiff(a.get(i).latents())).isZero();
            assertThat(b.get(i).conditioning().context().maxAbsDiff(a.get(i).conditioning().context())).isZero();
            assertThat(b.get(i).conditioning().pooled().maxAbsDiff(a.get(i).conditioning().pooled())).isZero();
        }
    }

    @Test
    void everyBatchHoldsOneBucketAndEveryItemComesOncePerEpoch() {
        CachedDataset d = open(CachedDataset.Options.builder().batchSize(4).seed(3));
        // ceil(13/4) + ceil(9/4) = 4 + 3
        assertThat(d.batchesPerEpoch()).isEqualTo(7);
        for (int epoch = 0; epoch < 3; epoch++) {
            List<Integer> seen = new ArrayList<>();
            for (List<Integer> batch : d.epochPlan(epoch)) {
                assertThat(batch).extracting(i -> cache.items().get(i).bucket()).containsOnly(
                        cache.items().get(batch.get(0)).bucket());
                seen.addAll(batch);
            }
            assertThat(seen).containsExactlyInAnyOrderElementsOf(
                    cache.items().stream().map(CachedItem::index).toList());
        }
        BatchIterator it = d.iterator();
        for (TrainingBatch b : take(it, 9)) {
            assertThat(b.samples()).extracting(s -> cache.items().get(s.item()).bucket()).containsOnly(b.bucket());
            assertThat(b.latents().shape()).containsExactly(b.size(), 4, b.bucket().height() / 8,
                    b.bucket().width() / 8);
            assertThat(b.conditioning().context().shape()).containsExactly(b.size(), 4 + 6, 24);
        }
        assertThat(d.epochPlan(0)).isNotEqualTo(d.epochPlan(1));
    }

    @Test
    void dropLastKeepsOnlyFullBatches() {
        CachedDataset d = open(CachedDataset.Options.builder().batchSize(4).dropLast(true));
        assertThat(d.batchesPerEpoch()).isEqualTo(3 + 2);
        assertThat(d.epochPlan(0)).allSatisfy(b -> assertThat(b).hasSize(4));
        assertThatThrownBy(() -> open(CachedDataset.Options.builder().batchSize(14).dropLast(true)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("batchSize must be <= 13 (the largest bucket's items) with dropLast, found 14");
    }

    @Test
    void sameSeedGivesTheSameBatchesAndAnotherSeedOthers() {
        CachedDataset.Options.Builder options = CachedDataset.Options.builder().batchSize(3).seed(42)
                .captionDropout(0.3);
        List<TrainingBatch> first = take(open(options).iterator(), 6);
        List<TrainingBatch> second = take(open(options).iterator(), 6);
        assertSameBatches(first, second);

        List<TrainingBatch> other = take(open(options.seed(43)).iterator(), 6);
        assertThat(other.get(0).samples()).isNotEqualTo(first.get(0).samples());
    }

    @Test
    void resumingFromASavedStateReproducesTheSequenceAcrossEpochs() {
        CachedDataset d = open(CachedDataset.Options.builder().batchSize(5).seed(7).captionDropout(0.2));
        int perEpoch = d.batchesPerEpoch();   // ceil(13/5) + ceil(9/5) = 5
        BatchIterator it = d.iterator();
        List<TrainingBatch> head = take(it, 3);
        IterationState saved = it.state();
        List<TrainingBatch> tail = take(it, perEpoch + 2);   // crosses into the next epoch

        assertThat(saved).isEqualTo(new IterationState(0, 3));
        assertThat(tail.get(perEpoch - 3).position()).isEqualTo(new IterationState(1, 0));
        assertSameBatches(take(d.iterator(saved), perEpoch + 2), tail);
        assertSameBatches(List.of(d.batch(new IterationState(0, 1))), head.subList(1, 2));
        assertThatThrownBy(() -> d.iterator(new IterationState(2, perEpoch)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("position index must be < 5 (batches per epoch at batch size 5), found 5");
    }

    /**
     * Rates over n = 2200 samples (100 epochs of 22). A binomial rate has standard deviation sqrt(p(1-p)/n):
     * 0.0106 at p = 0.464, 0.0085 at p = 0.2, 0.0064 at p = 0.0999 (all three encoders); the test allows 4.5
     * standard deviations (a chance of about 1e-5 for a correct implementation; the draws are seeded, so the
     * outcome is fixed).
     */
    @Test
    void dropoutRatesMatchTheirProbabilitiesWithinBinomialTolerance() {
        CachedDataset d = open(CachedDataset.Options.builder().batchSize(4).seed(11).captionDropout(0.2));
        BatchIterator it = d.iterator();
        int n = 0;
        int captions = 0;
        int all = 0;
        int[] perRole = new int[3];
        List<EncoderRole> roles = List.of(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5);
        while (it.state().epoch() < 100) {
            for (BatchSample s : it.next().samples()) {
                n++;
                captions += s.captionDropped() ? 1 : 0;
                all += s.droppedEncoders().size() == 3 ? 1 : 0;
                for (int r = 0; r < 3; r++) {
                    perRole[r] += s.droppedEncoders().contains(roles.get(r)) ? 1 : 0;
                }
            }
        }
        assertThat(n).isEqualTo(100 * ITEMS);
        for (int r = 0; r < 3; r++) {
            assertThat((double) perRole[r] / n).isCloseTo(0.464, within(0.464, n));
        }
        assertThat((double) captions / n).isCloseTo(0.2, within(0.2, n));
        assertThat((double) all / n).isCloseTo(0.464 * 0.464 * 0.464, within(0.464 * 0.464 * 0.464, n));
    }

    private static org.assertj.core.data.Offset<Double> within(double p, int n) {
        return org.assertj.core.data.Offset.offset(4.5 * Math.sqrt(p * (1 - p) / n));
    }

    @Test
    void droppedEncodersAreZerosAndDroppedCaptionsAreTheEmptyCaption() {
        CachedDataset d = open(CachedDataset.Options.builder().batchSize(4).seed(5).captionDropout(0.5)
                .latentSampling(LatentSampling.MEAN));
        FakeTextEncoder[] fakes = SmallModel.encoders();
        Set<String> seen = new HashSet<>();
        BatchIterator it = d.iterator();
        for (int k = 0; k < 30; k++) {
            TrainingBatch b = it.next();
            for (int i = 0; i < b.size(); i++) {
                BatchSample s = b.samples().get(i);
                Tensor context = b.conditioning().context().slice(i, i + 1);
                Tensor pooled = b.conditioning().pooled().slice(i, i + 1);
                String text = s.effectiveCaption();
                // Context rows 0..3: CLIP-L features 0..7, CLIP-G 8..19, zeros 20..23; rows 4..9: T5 features 0..15.
                checkSlot(context, 0, 4, 0, 8, s.droppedEncoders().contains(EncoderRole.CLIP_L)
                        ? null : fakes[0].tokensFor(text));
                checkSlot(context, 0, 4, 8, 20, s.droppedEncoders().contains(EncoderRole.CLIP_G)
                        ? null : fakes[1].tokensFor(text));
                checkSlot(context, 4, 10, 0, 16, s.droppedEncoders().contains(EncoderRole.T5)
                        ? null : fakes[2].tokensFor(text));
                checkPooled(pooled, 0, s.droppedEncoders().contains(EncoderRole.CLIP_L) ? null : fakes[0].pooledFor(text));
                checkPooled(pooled, 8, s.droppedEncoders().contains(EncoderRole.CLIP_G) ? null : fakes[1].pooledFor(text));
                seen.add(s.captionDropped() + "/" + s.droppedEncoders().size());
            }
        }
        // Both caption outcomes and several encoder-drop counts occurred, so every branch above was checked.
        assertThat(seen).contains("true/0", "false/0", "false/1", "true/1");
    }

    private static void checkSlot(Tensor context, int rowFrom, int rowTo, int colFrom, int colTo, Tensor expected) {
        for (int row = rowFrom; row < rowTo; row++) {
            for (int col = colFrom; col < colTo; col++) {
                float want = expected == null ? 0f : expected.get((row - rowFrom) * (colTo - colFrom) + col - colFrom);
                assertThat((double) context.at(0, row, col)).isCloseTo(want,
                        org.assertj.core.data.Offset.offset(1e-3));
            }
        }
    }

    private static void checkPooled(Tensor pooled, int from, Tensor expected) {
        int width = from == 0 ? 8 : 6;
        for (int k = 0; k < width; k++) {
            float want = expected == null ? 0f : expected.get(k);
            assertThat((double) pooled.at(0, from + k)).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-3));
        }
    }

    @Test
    void sampledLatentsSpreadAroundTheMeanByTheCachedStd() {
        CachedDataset mean = open(CachedDataset.Options.builder().batchSize(13).latentSampling(LatentSampling.MEAN));
        CachedDataset sampled = open(CachedDataset.Options.builder().batchSize(13));
        IterationState square = new IterationState(0, mean.epochPlan(0).get(0).size() == 13 ? 0 : 1);
        Tensor m = mean.batch(square).latents();
        Tensor s = sampled.batch(square).latents();
        double std = SmallModel.FORMAT.scalingFactor() * Math.exp(0.5 * SmallModel.LOGVAR);
        double sum = 0;
        double squares = 0;
        for (int i = 0; i < m.size(); i++) {
            double z = (s.get(i) - m.get(i)) / std;
            sum += z;
            squares += z * z;
        }
        int n = m.size();   // 13 x 4 x 4 x 4 = 832 standard normals
        assertThat(sum / n).isCloseTo(0, org.assertj.core.data.Offset.offset(4.5 / Math.sqrt(n)));
        assertThat(squares / n).isCloseTo(1, org.assertj.core.data.Offset.offset(4.5 * Math.sqrt(2.0 / n)));
    }
}
