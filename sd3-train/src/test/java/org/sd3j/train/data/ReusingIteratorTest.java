package org.sd3j.train.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.conditioning.PromptEncoder;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.safetensors.SafetensorsFile;
import org.sd3j.random.TorchGenerator;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeTextEncoder;

/**
 * {@link CachedDataset#reusingIterator} against {@link CachedDataset#iterator}, and both against the conditioning
 * {@link PromptEncoder#assemble} builds from the cached outputs. Two caches of 17 items in three buckets (7 of
 * 128x128, 6 of 192x128, 4 of 128x192; at batch size 3, batches of 3 and 1 samples): one from all three of
 * {@link SmallModel}'s encoders, one without CLIP-G (whose slot is then zeros in every batch). Dropout
 * probabilities are high, so that caption dropout, encoder dropout and their absence all occur many times.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReusingIteratorTest {
    private static final int EPOCHS = 4;
    private PrecomputeCache full;
    private PrecomputeCache withoutClipG;

    @BeforeAll
    void build(@TempDir Path tmp) {
        Path data = tmp.resolve("data");
        for (int i = 0; i < 17; i++) {
            int width = i < 7 ? 128 : i < 13 ? 192 : 128;
            int height = i < 13 ? 128 : 192;
            TestImages.withCaption(data, String.format("img%02d.png", i), width, height, i, "caption " + i);
        }
        ImageCaptionDataset scanned = ImageCaptionDataset.scan(data, AspectBuckets.of(List.of(
                new BucketSize(128, 128), new BucketSize(192, 128), new BucketSize(128, 192))));
        full = PrecomputeCache.build(scanned, SmallModel.model(), tmp.resolve("full"));
        FakeTextEncoder[] encoders = SmallModel.encoders();
        withoutClipG = PrecomputeCache.build(scanned, new EncodingModel("small without clip_g", SmallModel.LAYOUT,
                List.of(encoders[0], encoders[2]), SmallModel.vae()), tmp.resolve("without-clip-g"));
    }

    private static CachedDataset open(PrecomputeCache cache) {
        return CachedDataset.open(cache, cache.fingerprint(), CachedDataset.Options.builder().batchSize(3).seed(9)
                .captionDropout(0.4).encoderDropout(0.5).build());
    }

    @Test
    void reusedBuffersGiveTheAllocatingIteratorsBatchesBitForBit() {
        for (PrecomputeCache cache : List.of(full, withoutClipG)) {
            CachedDataset d = open(cache);
            BatchIterator reusing = d.reusingIterator(IterationState.START);
            BatchIterator allocating = d.iterator(IterationState.START);
            Set<String> seen = new HashSet<>();
            while (reusing.state().epoch() < EPOCHS) {
                TrainingBatch expected = allocating.next();
                TrainingBatch actual = reusing.next();
                assertThat(actual.position()).isEqualTo(expected.position());
                assertThat(actual.bucket()).isEqualTo(expected.bucket());
                assertThat(actual.samples()).isEqualTo(expected.samples());
                assertBitwiseEqual(actual.latents(), expected.latents());
                assertBitwiseEqual(actual.conditioning().context(), expected.conditioning().context());
                assertBitwiseEqual(actual.conditioning().pooled(), expected.conditioning().pooled());
                seen.add(actual.bucket() + " x" + actual.size());
                actual.samples().forEach(s -> seen.add(s.captionDropped() + "/" + s.droppedEncoders().size()));
            }
            assertThat(reusing.reusesBuffers()).isTrue();
            assertThat(allocating.reusesBuffers()).isFalse();
            // Every shape and dropout combination came round more than once, after batches of other shapes and
            // other dropout: anything left over from an earlier batch would have shown.
            assertThat(seen).contains("128x128 x3", "128x128 x1", "192x128 x3", "128x192 x3", "128x192 x1",
                    "true/0", "false/0", "true/1", "false/1");
        }
    }

    @Test
    void batchesEqualPromptEncoderAssemblyOfTheCachedOutputsBitForBit() {
        for (PrecomputeCache cache : List.of(full, withoutClipG)) {
            CachedDataset d = open(cache);
            BatchIterator it = d.iterator();
            while (it.state().epoch() < 2) {
                TrainingBatch actual = it.next();
                Conditioning expected = PromptEncoder.assemble(d.layout(), actual.size(), stackedOutputs(d,
                        actual));
                assertBitwiseEqual(actual.conditioning().context(), expected.context());
                assertBitwiseEqual(actual.conditioning().pooled(), expected.pooled());
                assertBitwiseEqual(actual.latents(), sampledLatents(d, actual));
            }
        }
    }

    @Test
    void successiveBatchesOfOneShapeAreWrittenIntoTheSameTensors() {
        CachedDataset d = open(full);
        BatchIterator reusing = d.reusingIterator(IterationState.START);
        Map<List<Integer>, TrainingBatch> byShape = new LinkedHashMap<>();
        int repeats = 0;
        for (int k = 0; k < 2 * d.batchesPerEpoch(); k++) {
            TrainingBatch b = reusing.next();
            TrainingBatch earlier = byShape.put(List.of(b.size(), b.bucket().width(), b.bucket().height()), b);
            if (earlier != null) {
                repeats++;
                assertThat(b.latents()).isSameAs(earlier.latents());
                assertThat(b.conditioning().context()).isSameAs(earlier.conditioning().context());
                assertThat(b.conditioning().pooled()).isSameAs(earlier.conditioning().pooled());
            }
        }
        assertThat(repeats).isGreaterThan(d.batchesPerEpoch());
        // Conditioning does not depend on the bucket: one context per batch size, whatever the bucket.
        for (TrainingBatch a : byShape.values()) {
            for (TrainingBatch b : byShape.values()) {
                assertThat(a.conditioning().context() == b.conditioning().context()).isEqualTo(a.size() == b.size());
            }
        }

        BatchIterator allocating = d.iterator();
        assertThat(allocating.next().latents()).isNotSameAs(allocating.next().latents());
    }

    /**
     * Once every shape has been met, 50 more batches take no direct memory, and less heap than half of one batch's
     * latent noise (which the allocating iterator allocates every batch): what remains is opening each item's file
     * (its header parsed into a few small objects, about 15 KB) and the noise generator's state (2.5 KB), nothing
     * that grows with the tensors. Images of 512x512 make the latents large next to that: [3, 4, 64, 64], 192 KB.
     */
    @Test
    void reusingIterationAllocatesNoDirectMemoryAndLittleHeapPerBatch(@TempDir Path tmp) {
        Path data = tmp.resolve("data");
        for (int i = 0; i < 6; i++) {
            TestImages.withCaption(data, "img" + i + ".png", 512, 512, i, "caption " + i);
        }
        PrecomputeCache cache = PrecomputeCache.build(ImageCaptionDataset.scan(data, AspectBuckets.single(512, 512)),
                SmallModel.model(), tmp.resolve("cache"));
        CachedDataset d = open(cache);
        BatchIterator it = d.reusingIterator(IterationState.START);
        long noiseBytes = 0;
        for (int k = 0; k < 50; k++) {
            noiseBytes = Float.BYTES * (long) it.next().latents().size(); // warm up: shapes met, code compiled
        }
        BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(p -> p.getName().equals("direct")).findFirst().orElseThrow();
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().getId();
        long directCount = direct.getCount();
        long directBytes = direct.getMemoryUsed();
        long heap = threads.getThreadAllocatedBytes(tid);
        for (int k = 0; k < 50; k++) {
            it.next();
        }
        long heapPerBatch = (threads.getThreadAllocatedBytes(tid) - heap) / 50;
        assertThat(direct.getCount()).as("direct buffers").isLessThanOrEqualTo(directCount);
        assertThat(direct.getMemoryUsed()).as("direct bytes").isLessThanOrEqualTo(directBytes);
        assertThat(noiseBytes).isEqualTo(3 * 4 * 64 * 64 * 4);
        assertThat(heapPerBatch).as("heap bytes per batch of 3").isLessThan(noiseBytes / 2);
    }

    /** Each role's outputs for the batch as the cache holds them: the item's, the empty caption's, or zeros. */
    private static Map<EncoderRole, EncodedText> stackedOutputs(CachedDataset d, TrainingBatch batch) {
        Path dir = d.cache().directory();
        Map<EncoderRole, EncodedText> empty = CacheFiles.readEmptyCaption(
                dir.resolve(CacheManifest.EMPTY_CAPTION_FILE), d.layout());
        Map<EncoderRole, EncodedText> out = new LinkedHashMap<>();
        for (Map.Entry<EncoderRole, EncodedText> e : empty.entrySet()) {
            EncoderRole role = e.getKey();
            int[] ts = e.getValue().tokens().shape();
            Tensor tokens = Tensor.zeros(batch.size(), ts[1], ts[2]);
            Tensor pooled = e.getValue().pooled() == null ? null : Tensor.zeros(batch.size(),
                    e.getValue().pooled().dim(1));
            for (int i = 0; i < batch.size(); i++) {
                BatchSample s = batch.samples().get(i);
                if (s.droppedEncoders().contains(role)) {
                    continue;
                }
                Tensor sampleTokens = e.getValue().tokens();
                Tensor samplePooled = e.getValue().pooled();
                if (!s.captionDropped()) {
                    Path file = dir.resolve(d.cache().items().get(s.item()).file());
                    try (SafetensorsFile f = SafetensorsFile.open(file)) {
                        sampleTokens = f.toFloatTensor(CacheFiles.tokensName(role));
                        samplePooled = pooled == null ? null : f.toFloatTensor(CacheFiles.pooledName(role));
                    }
                }
                tokens.slice(i, i + 1).copyFrom(sampleTokens);
                if (pooled != null) {
                    pooled.slice(i, i + 1).copyFrom(samplePooled);
                }
            }
            out.put(role, new EncodedText(tokens, pooled));
        }
        return out;
    }

    /** {@code mean + exp(logvar / 2) * eps}, eps one {@code torch.randn} stream seeded by the position. */
    private static Tensor sampledLatents(CachedDataset d, TrainingBatch batch) {
        Tensor out = Tensor.zeros(batch.latents().shape());
        int per = out.size() / batch.size();
        float[] noise = new float[out.size()];
        new TorchGenerator(Seeds.derive(d.options().seed(), Seeds.LATENT, batch.position().epoch(),
                batch.position().index())).fillNormal(noise, 0, noise.length);
        for (int i = 0; i < batch.size(); i++) {
            CachedItem item = d.cache().items().get(batch.samples().get(i).item());
            try (SafetensorsFile f = SafetensorsFile.open(d.cache().directory().resolve(item.file()))) {
                Tensor mean = f.toFloatTensor(CacheFiles.MEAN);
                Tensor logvar = f.toFloatTensor(CacheFiles.LOGVAR);
                for (int k = 0; k < per; k++) {
                    out.set(i * per + k, mean.get(k)
                            + (float) Math.exp(0.5 * logvar.get(k)) * noise[i * per + k]);
                }
            }
        }
        return out;
    }

    private static void assertBitwiseEqual(Tensor actual, Tensor expected) {
        assertThat(actual.shape()).isEqualTo(expected.shape());
        for (int i = 0; i < expected.size(); i++) {
            if (Float.floatToRawIntBits(actual.get(i)) != Float.floatToRawIntBits(expected.get(i))) {
                throw new AssertionError("element " + i + " of " + actual + ": " + actual.get(i) + ", expected "
                        + expected.get(i));
            }
        }
    }
}
