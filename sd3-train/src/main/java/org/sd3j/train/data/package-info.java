/**
 * The data side of SD3 training: {@link org.sd3j.train.data.ImageCaptionDataset} reads a folder of captioned
 * images (skipping and counting bad files), {@link org.sd3j.train.data.AspectBuckets} and
 * {@link org.sd3j.train.data.CenterCropResize} decide each image's training size, {@link
 * org.sd3j.train.data.PrecomputeCache} encodes everything once with the frozen VAE and text encoders into fp16
 * safetensors, and {@link org.sd3j.train.data.CachedDataset} serves single-bucket batches from that cache with
 * seeded shuffling, caption and per-encoder dropout, and resumable positions.
 *
 * <pre>{@code
 * try (Sd3Model model = Sd3Model.load(Path.of("sd3m-onnx"))) {
 *     EncodingModel frozen = EncodingModel.of(model);
 *     ImageCaptionDataset data = ImageCaptionDataset.scan(Path.of("photos"), AspectBuckets.of(512, 64));
 *     PrecomputeCache cache = PrecomputeCache.build(data, frozen, Path.of("photos-cache"));
 *     CachedDataset batches = CachedDataset.open(cache, ModelFingerprint.of(frozen),
 *             CachedDataset.Options.builder().batchSize(4).seed(1).build());
 *     BatchIterator it = batches.iterator();
 *     TrainingBatch batch = it.next();   // latents [4, 16, h, w], conditioning context [4, 333, 4096]
 * }
 * }</pre>
 * A training loop that uses each batch before asking for the next takes {@code batches.reusingIterator(state)}
 * instead: the same batches, written into tensors the iterator keeps and overwrites, so no large buffer is allocated
 * per step. No ONNX Runtime type appears in this package's API.
 */
package org.sd3j.train.data;
