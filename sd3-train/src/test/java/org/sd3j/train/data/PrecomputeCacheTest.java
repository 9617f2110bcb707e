package org.sd3j.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.Sd3Exception;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.conditioning.PromptEncoder;
import org.sd3j.image.Image;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.LatentFormat;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.SafetensorsFile;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.IdentityVae;

/**
 * {@link PrecomputeCache} on the fakes of {@link SmallModel}. fp16 tolerance: storage rounds to 11 significant bits,
 * a relative error of at most 2^-11 (4.9e-4), so cached values are compared at 1e-3 x max(1, |value|).
 */
class PrecomputeCacheTest {
    private static final double FP16_RELATIVE = 1e-3;

    @TempDir
    Path tmp;
    private Path data;
    private Path cacheDir;

    @BeforeEach
    void dataset() {
        data = tmp.resolve("data");
        cacheDir = tmp.resolve("cache");
        TestImages.withCaption(data, "a.png", 48, 32, 1, "a wide picture");
        TestImages.withCaption(data, "b.png", 32, 32, 2, "a square picture");
        TestImages.withCaption(data, "c.png", 64, 64, 3, "a larger square");
    }

    private ImageCaptionDataset scan() {
        return ImageCaptionDataset.scan(data, AspectBuckets.of(List.of(new BucketSize(32, 32),
                new BucketSize(48, 32))));
    }

    private static void assertCloseFp16(Tensor actual, Tensor expected) {
        assertThat(actual.shape()).isEqualTo(expected.shape());
        for (int i = 0; i < expected.size(); i++) {
            assertThat((double) actual.get(i)).isCloseTo(expected.get(i),
                    org.assertj.core.data.Offset.offset(FP16_RELATIVE * Math.max(1, Math.abs(expected.get(i)))));
        }
    }

    @Test
    void roundTripGivesTheModelsLatentsAndConditioningWithinFp16() {
        PrecomputeCache cache = PrecomputeCache.build(scan(), SmallModel.model(), cacheDir);
        CachedDataset batches = CachedDataset.open(cacheDir, cache.fingerprint(), CachedDataset.Options.builder()
                .encoderDropout(0).latentSampling(LatentSampling.MEAN).build());

        IdentityVae vae = SmallModel.vae();
        PromptEncoder prompts = new PromptEncoder(SmallModel.LAYOUT, List.of(SmallModel.encoders()));
        for (CachedItem item : cache.items()) {
            TrainingBatch batch = batches.assemble(IterationState.START, List.of(item.index()));
            Image cropped = CenterCropResize.apply(Image.read(data.resolve(item.source())), item.bucket());
            Tensor expectedLatents = SmallModel.FORMAT.toDenoiserSpace(vae.latentsOf(cropped.toTensor()));
            Conditioning expected = prompts.encode(List.of(batch.samples().get(0).caption()));

            assertThat(batch.bucket()).isEqualTo(item.bucket());
            assertCloseFp16(batch.latents(), expectedLatents);
            assertCloseFp16(batch.conditioning().context(), expected.context());
            assertCloseFp16(batch.conditioning().pooled(), expected.pooled());
        }
        assertThat(cache.items()).extracting(CachedItem::source).containsExactly("a.png", "b.png", "c.png");
        assertThat(batches.batch(IterationState.START).samples()).extracting(BatchSample::caption)
                .isSubsetOf("a wide picture", "a square picture", "a larger square");
    }

    @Test
    void itemFilesHoldFp16TensorsPerEncoderAndTheDenoiserSpaceLogvar() {
        PrecomputeCache.build(scan(), SmallModel.model(), cacheDir);
        try (SafetensorsFile f = SafetensorsFile.open(cacheDir.resolve("items/000000.safetensors"))) {
            assertThat(f.names()).containsExactlyInAnyOrder("latent.mean", "latent.logvar", "clip_l.tokens",
                    "clip_l.pooled", "clip_g.tokens", "clip_g.pooled", "t5xxl.tokens");
            assertThat(f.info("latent.mean").dtype()).isEqualTo(DType.F16);
            assertThat(f.info("latent.mean").intShape()).containsExactly(4, 4, 6);   // 48x32 image, x8
            assertThat(f.info("clip_g.tokens").intShape()).containsExactly(4, 12);
            assertThat(f.info("clip_g.pooled").intShape()).containsExactly(6);
            assertThat(f.info("t5xxl.tokens").intShape()).containsExactly(6, 16);
            assertThat(f.metadata()).containsEntry("source", "a.png").containsEntry("bucket", "48x32")
                    .containsEntry("caption", "a wide picture");
            double expectedLogvar = SmallModel.LOGVAR + 2 * Math.log(SmallModel.FORMAT.scalingFactor());
            for (float v : f.toFloatTensor("latent.logvar").toArray()) {
                assertThat((double) v).isCloseTo(expectedLogvar, org.assertj.core.data.Offset.offset(2e-3));
            }
        }
    }

    @Test
    void manifestRecordsModelDatasetCountsAndBuckets() throws IOException {
        TestImages.write(data.resolve("uncaptioned.png"), TestImages.blocks(32, 32, 9));
        PrecomputeCache cache = LogCapture.run(() -> PrecomputeCache.build(scan(), SmallModel.model(), cacheDir))
                .result();

        JsonNode m = new ObjectMapper().readTree(cacheDir.resolve("manifest.json").toFile());
        assertThat(m.get("format").asText()).isEqualTo("sd3j-precompute-cache");
        assertThat(m.get("version").asInt()).isEqualTo(1);
        assertThat(m.get("dataset").asText()).isEqualTo(data.toAbsolutePath().normalize().toString());
        assertThat(m.at("/model/name").asText()).isEqualTo("small");
        assertThat(m.at("/model/latent_format/channels").asInt()).isEqualTo(4);
        assertThat(m.at("/model/layout/slots/2/features").asInt()).isEqualTo(16);
        assertThat(m.at("/model/encoders").toString()).isEqualTo("[\"clip_l\",\"clip_g\",\"t5xxl\"]");
        assertThat(m.at("/model/probes/t5xxl.tokens/shape").toString()).isEqualTo("[1,6,16]");
        assertThat(m.at("/counts/items").asInt()).isEqualTo(3);
        assertThat(m.at("/counts/image_files").asInt()).isEqualTo(4);
        assertThat(m.at("/counts/skipped/missing_caption").asInt()).isEqualTo(1);
        assertThat(m.at("/buckets").toString()).isEqualTo(
                "[{\"width\":32,\"height\":32,\"items\":2},{\"width\":48,\"height\":32,\"items\":1}]");
        assertThat(m.at("/items/0").toString()).isEqualTo(
                "{\"file\":\"items/000000.safetensors\",\"source\":\"a.png\",\"bucket\":\"48x32\"}");
        assertThat(m.at("/token_counts").toString()).isEqualTo("{\"clip_l\":4,\"clip_g\":4,\"t5xxl\":6}");

        PrecomputeCache reopened = PrecomputeCache.open(cacheDir);
        assertThat(reopened.fingerprint()).isEqualTo(cache.fingerprint());
        assertThat(reopened.items()).isEqualTo(cache.items());
        assertThat(reopened.skipCounts()).isEqualTo(cache.skipCounts());
        assertThat(reopened.bucketCounts()).containsExactly(java.util.Map.entry(new BucketSize(32, 32), 2),
                java.util.Map.entry(new BucketSize(48, 32), 1));
        assertThat(reopened.datasetFolder()).isEqualTo(data.toAbsolutePath().normalize());
    }

    @Test
    void emptyCaptionIsCachedOnce() {
        PrecomputeCache.build(scan(), SmallModel.model(), cacheDir);
        try (SafetensorsFile f = SafetensorsFile.open(cacheDir.resolve("empty-caption.safetensors"))) {
            Tensor expected = SmallModel.encoders()[2].tokensFor("");
            assertCloseFp16(f.toFloatTensor("t5xxl.tokens").reshape(expected.shape()), expected);
        }
    }

    @Test
    void imageThatFailsToDecodeIsSkippedAndCounted() throws IOException {
        Path broken = data.resolve("d.png");
        TestImages.withCaption(data, "d.png", 32, 32, 4, "truncated");
        byte[] bytes = Files.readAllBytes(broken);
        Files.write(broken, java.util.Arrays.copyOf(bytes, 60));   // the header survives, the pixels do not
        ImageCaptionDataset scanned = scan();
        assertThat(scanned.items()).extracting(DatasetItem::relativePath).contains("d.png");

        LogCapture.Captured<PrecomputeCache> run = LogCapture.run(() -> PrecomputeCache.build(scanned,
                SmallModel.model(), cacheDir));

        assertThat(run.result().items()).extracting(CachedItem::source).containsExactly("a.png", "b.png", "c.png");
        assertThat(run.result().skipCounts()).containsEntry(SkipReason.UNREADABLE_IMAGE, 1);
        assertThat(run.log()).contains("WARN").contains("Skipping " + broken.toAbsolutePath().normalize()
                + ": unreadable image: cannot decode it");
    }

    @Test
    void openingWithoutAManifestSaysThereIsNoCache() {
        assertThatThrownBy(() -> PrecomputeCache.open(tmp)).isInstanceOf(Sd3Exception.class)
                .hasMessage("No precompute cache in " + tmp.toAbsolutePath().normalize() + ": manifest.json is missing"
                        + " (an unfinished build leaves none); build one with PrecomputeCache.build");
    }

    @Test
    void aCacheFromAnotherModelIsRefusedNamingWhatDiffers() {
        PrecomputeCache.build(scan(), SmallModel.model(), cacheDir);
        ModelFingerprint otherWeights = ModelFingerprint.of(SmallModel.withScaledEncoder(EncoderRole.CLIP_G, 1.5f));

        assertThatThrownBy(() -> CachedDataset.open(cacheDir, otherWeights, CachedDataset.Options.defaults()))
                .isInstanceOf(CacheMismatchException.class)
                .hasMessageStartingWith("The cache " + cacheDir.toAbsolutePath().normalize() + " was built from model"
                        + " 'small', which differs from the model 'small' used now: clip_g tokens of the probe prompt:"
                        + " values differ by up to ")
                .hasMessageContaining("; clip_g pooled of the probe prompt: values differ by up to ")
                .hasMessageEndingWith(". Rebuild the cache for this model (PrecomputeCache.build) or train with the"
                        + " model it was built from");
    }

    @Test
    void missingEncoderAndOtherLatentFormatAreBothNamed() {
        PrecomputeCache cache = PrecomputeCache.build(scan(), SmallModel.model(), cacheDir);
        LatentFormat other = new LatentFormat(4, 8, 1.0, 0.0);
        EncodingModel noT5 = new EncodingModel("no-t5", SmallModel.LAYOUT,
                List.of(SmallModel.encoders()[0], SmallModel.encoders()[1]), new IdentityVae(other, SmallModel.LOGVAR));

        CacheMismatchException e = org.junit.jupiter.api.Assertions.assertThrows(CacheMismatchException.class,
                () -> cache.verify(ModelFingerprint.of(noT5)));

        assertThat(e.differences()).containsExactly(
                "latent format: cache LatentFormat[channels=4, downscale=8, scalingFactor=1.5305, shiftFactor=0.0609]"
                        + " vs model LatentFormat[channels=4, downscale=8, scalingFactor=1.0, shiftFactor=0.0]",
                "text encoders: cache [clip_l, clip_g, t5xxl] vs model [clip_l, clip_g]");
        assertThat(e.getMessage()).contains("built from model 'small', which differs from the model 'no-t5'");
    }

    @Test
    void aRenamedModelWithTheSameOutputsIsAcceptedWithAWarning() {
        PrecomputeCache cache = PrecomputeCache.build(scan(), SmallModel.model(), cacheDir);
        EncodingModel renamed = new EncodingModel("small-copy", SmallModel.LAYOUT, List.of(SmallModel.encoders()),
                SmallModel.vae());

        String log = LogCapture.run(() -> {
            cache.verify(ModelFingerprint.of(renamed));
            return null;
        }).log();

        assertThat(log).contains("WARN").contains("built from a model named 'small', now 'small-copy'");
    }

    @Test
    void aMissingItemFileFailsAtOpenNotMidEpoch() throws IOException {
        PrecomputeCache cache = PrecomputeCache.build(scan(), SmallModel.model(), cacheDir);
        Files.delete(cacheDir.resolve("items/000001.safetensors"));

        assertThatThrownBy(() -> CachedDataset.open(cacheDir, cache.fingerprint(), CachedDataset.Options.defaults()))
                .isInstanceOf(Sd3Exception.class)
                .hasMessage("The cache " + cacheDir.toAbsolutePath().normalize() + " lacks items/000001.safetensors"
                        + " (item 1, b.png); rebuild the cache");
    }

    @Test
    void rebuildReplacesTheCache() {
        PrecomputeCache.build(scan(), SmallModel.model(), cacheDir);
        TestImages.withCaption(data, "e.png", 32, 32, 5, "one more");
        PrecomputeCache rebuilt = PrecomputeCache.build(scan(), SmallModel.model(), cacheDir);
        assertThat(PrecomputeCache.open(cacheDir).size()).isEqualTo(4).isEqualTo(rebuilt.size());
    }
}
