package org.sd3j.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.conditioning.PromptEncoder;
import org.sd3j.image.Image;
import org.sd3j.model.LatentDistribution;
import org.sd3j.model.Vae;
import org.sd3j.onnx.model.Sd3Model;
import org.sd3j.tensor.Tensor;

/**
 * The precompute cache on a tiny real SD3 through ONNX Runtime (golden CLIP-L, CLIP-G, T5 and VAE weights): cached
 * latents and conditioning equal what the model computes directly within fp16 storage precision (relative error
 * 2^-11, compared at 2e-3 x max(1, |value|)), and a model without CLIP-G is refused.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TinySd3CacheTest {
    private Path tmp;
    private Sd3Model model;
    private PrecomputeCache cache;

    @BeforeAll
    void build(@TempDir Path dir) {
        tmp = dir;
        model = TinySd3.load(dir.resolve("model"), true);
        Path data = dir.resolve("data");
        TestImages.withCaption(data, "fox.png", 64, 64, 1, "a red fox");
        TestImages.withCaption(data, "wide.png", 100, 64, 2, "a wide field");
        ImageCaptionDataset scanned = ImageCaptionDataset.scan(data, AspectBuckets.of(List.of(
                new BucketSize(64, 64), new BucketSize(96, 64))));
        cache = PrecomputeCache.build(scanned, EncodingModel.of(model), dir.resolve("cache"));
    }

    @AfterAll
    void close() {
        model.close();
    }

    private static void assertCloseFp16(Tensor actual, Tensor expected) {
        assertThat(actual.shape()).isEqualTo(expected.shape());
        for (int i = 0; i < expected.size(); i++) {
            assertThat((double) actual.get(i)).isCloseTo(expected.get(i),
                    org.assertj.core.data.Offset.offset(2e-3 * Math.max(1, Math.abs(expected.get(i)))));
        }
    }

    @Test
    void cachedBatchesMatchTheModelWithinFp16() {
        CachedDataset batches = CachedDataset.open(cache.directory(), ModelFingerprint.of(EncodingModel.of(model)),
                CachedDataset.Options.builder().encoderDropout(0).latentSampling(LatentSampling.MEAN).build());
        Vae vae = model.vae().orElseThrow();
        PromptEncoder prompts = new PromptEncoder(model.layout(), model.encoders());
        for (CachedItem item : cache.items()) {
            TrainingBatch batch = batches.assemble(IterationState.START, List.of(item.index()));
            Image cropped = CenterCropResize.apply(Image.read(cache.datasetFolder().resolve(item.source())),
                    item.bucket());
            LatentDistribution direct = vae.encode(cropped.toTensor());
            Conditioning expected = prompts.encode(List.of(batch.samples().get(0).caption()));

            assertCloseFp16(batch.latents(), vae.latentFormat().toDenoiserSpace(direct.mean()));
            assertCloseFp16(batch.conditioning().context(), expected.context());
            assertCloseFp16(batch.conditioning().pooled(), expected.pooled());
        }
        assertThat(cache.items()).extracting(CachedItem::bucket).containsExactly(new BucketSize(64, 64),
                new BucketSize(96, 64));
        assertThat(cache.tokenCounts()).containsEntry("clip_l", 77).containsEntry("t5xxl", 32);
    }

    @Test
    void fingerprintIsStableAcrossLoads() {
        try (Sd3Model again = TinySd3.load(tmp.resolve("model-again"), true)) {
            assertThat(cache.fingerprint().differences(ModelFingerprint.of(EncodingModel.of(again)))).isEmpty();
        }
    }

    @Test
    void aModelWithoutClipGIsRefused() {
        try (Sd3Model noClipG = TinySd3.load(tmp.resolve("model-no-clip-g"), false)) {
            ModelFingerprint other = ModelFingerprint.of(EncodingModel.of(noClipG));
            assertThatThrownBy(() -> CachedDataset.open(cache, other, CachedDataset.Options.defaults()))
                    .isInstanceOf(CacheMismatchException.class)
                    .hasMessageContaining("was built from model 'tiny_sd3.safetensors', which differs from the model"
                            + " 'tiny_sd3_no_clip_g.safetensors' used now: ")
                    .hasMessageContaining("text encoders: cache [clip_l, clip_g, t5xxl] vs model [clip_l, t5xxl]");
        }
    }
}
