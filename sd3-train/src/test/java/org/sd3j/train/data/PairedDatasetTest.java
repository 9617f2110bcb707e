package org.sd3j.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.Sd3Exception;
import org.sd3j.onnx.model.Sd3Model;

/** Preference pairs over a precompute cache: pairing, dropped pairs, batch layout, reopening. */
class PairedDatasetTest {
    @TempDir
    Path dir;

    @Test
    void pairsItemsDropsBrokenPairsAndBatchesChosenBeforeRejected() throws Exception {
        Path images = dir.resolve("prefs");
        TestImages.withCaption(images, "a.png", 64, 64, 1, "x");
        TestImages.withCaption(images, "b.png", 64, 64, 2, "x");
        TestImages.withCaption(images, "c.png", 64, 64, 3, "x");
        TestImages.withCaption(images, "wide.png", 128, 64, 4, "x");
        Path file = images.resolve("pairs.jsonl");
        Files.write(file, List.of(
                "{\"prompt\": \"a red fox\", \"chosen\": \"a.png\", \"rejected\": \"b.png\"}",
                "{\"prompt\": \"a gone fox\", \"chosen\": \"a.png\", \"rejected\": \"missing.png\"}",
                "{\"prompt\": \"a wide fox\", \"chosen\": \"c.png\", \"rejected\": \"wide.png\"}",
                "{\"prompt\": \"a blue sky\", \"chosen\": \"c.png\", \"rejected\": \"a.png\"}"), StandardCharsets.UTF_8);
        AspectBuckets buckets = AspectBuckets.of(List.of(new BucketSize(64, 64), new BucketSize(128, 64)));
        try (Sd3Model model = TinySd3.load(dir.resolve("model"), true)) {
            EncodingModel frozen = EncodingModel.of(model);
            PairedDataset data = PairedDataset.build(PreferencePairs.read(file), frozen, dir.resolve("cache"),
                    buckets, 2, 7);
            // Pair 2 lost an image, pair 3 spans two buckets: pairs 1 and 4 are left.
            assertThat(data.pairs()).hasSize(2);
            List<CachedItem> items = data.cache().items();
            PairedDataset.Pair first = data.pairs().get(0);
            assertThat(items.get(first.chosen()).source()).isEqualTo("a.png");
            assertThat(items.get(first.rejected()).source()).isEqualTo("b.png");
            PairedDataset.Pair second = data.pairs().get(1);
            assertThat(items.get(second.chosen()).source()).isEqualTo("c.png");
            assertThat(items.get(second.rejected()).source()).isEqualTo("a.png");

            List<Integer> batch = data.epochPlan(0).get(0);
            assertThat(data.batchesPerEpoch()).isEqualTo(1);
            assertThat(batch).hasSize(4);
            TrainingBatch b = data.reusingIterator(IterationState.START).next();
            assertThat(b.latents().dim(0)).isEqualTo(4);
            // Chosen rows first, rejected after, pair by pair; each pair's two rows carry the same conditioning.
            for (int p = 0; p < 2; p++) {
                int pair = data.pairs().indexOf(new PairedDataset.Pair(batch.get(p), batch.get(2 + p)));
                assertThat(pair).isNotNegative();
                assertThat(b.conditioning().context().slice(p, p + 1)
                        .maxAbsDiff(b.conditioning().context().slice(2 + p, 3 + p))).isZero();
            }

            PairedDataset reopened = PairedDataset.open(dir.resolve("cache"), ModelFingerprint.of(frozen), 1, 7);
            assertThat(reopened.pairs()).isEqualTo(data.pairs());
            assertThat(reopened.batchesPerEpoch()).isEqualTo(2);
            assertThatThrownBy(() -> data.reusingIterator(new IterationState(0, 1)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("position index must be < 1 (batches per epoch at 2 pairs per batch), found 1");
        }
    }

    @Test
    void aCacheWithoutPairsIsNotAPreferenceCache() throws Exception {
        Path images = dir.resolve("plain");
        TestImages.withCaption(images, "a.png", 64, 64, 1, "a red fox");
        try (Sd3Model model = TinySd3.load(dir.resolve("model"), true)) {
            EncodingModel frozen = EncodingModel.of(model);
            PrecomputeCache.build(ImageCaptionDataset.scan(images, AspectBuckets.single(64, 64)), frozen,
                    dir.resolve("cache"));
            assertThatThrownBy(() -> PairedDataset.open(dir.resolve("cache"), ModelFingerprint.of(frozen), 1, 1))
                    .isInstanceOf(Sd3Exception.class).hasMessageContaining("has no pairs.json: it is not a "
                            + "preference cache");
        }
    }
}
