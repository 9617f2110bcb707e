package org.sd3j.train.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.sd3j.BackendException;
import org.sd3j.Sd3Exception;
import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.image.Image;
import org.sd3j.internal.Checks;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.LatentDistribution;
import org.sd3j.model.LatentFormat;
import org.sd3j.model.TextEncoder;
import org.sd3j.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Latents and text-encoder outputs computed once for a dataset (SPEC §7: encoding on the fly, T5 above all, would
 * nearly double a training step), stored on disk so that training reads only the cache and never runs the frozen
 * encoders or the VAE.
 *
 * <p><b>Building</b> ({@link #build}) goes through the dataset in order. Per item: decode the image (a file that
 * fails to decode is skipped, logged and counted like the scan's skips), {@link CenterCropResize} it to its bucket,
 * encode it with the VAE (one image per call: items of one batch may differ in size), and encode the caption with
 * <em>every</em> text encoder, storing each encoder's output separately so that training can drop each encoder's
 * slot on its own (captions go to the encoders {@value #CAPTION_BATCH} at a time). The encoders' outputs for the
 * empty caption are cached once, for caption dropout. An interrupted build is not resumed: run it again.
 *
 * <p><b>Folder format</b> (version 1):
 * <pre>
 *   manifest.json               format, version, dataset folder, model fingerprint, latent conventions, token
 *                               counts, counts (image files, items, skips by reason), buckets, items (file,
 *                               source, bucket); written last, atomically: no manifest = no (complete) cache
 *   empty-caption.safetensors   &lt;role&gt;.tokens [S, D] and, for CLIP roles, &lt;role&gt;.pooled [P]: the outputs for ""
 *   items/000000.safetensors    one per item, in order: latent.mean [C, h, w], latent.logvar [C, h, w], the
 *                               &lt;role&gt;.tokens / &lt;role&gt;.pooled of its caption; metadata source, bucket, caption
 * </pre>
 * Tensors are F16 (an F32 tensor only where a value exceeds the F16 range); every file is written atomically.
 * {@code latent.mean} is the VAE's mean in denoiser space ({@link LatentFormat#toDenoiserSpace}); {@code
 * latent.logvar} is the log-variance in denoiser space, {@code clamp(logvar, -30, 20) + 2 ln(scaling)}, so a
 * denoiser-space sample is {@code mean + exp(logvar / 2) * eps}, exactly the VAE's sample mapped to denoiser space.
 * Storing the moments instead of one sample lets {@link CachedDataset} draw a fresh sample every epoch (or use the
 * mean).
 *
 * <p><b>Model identity.</b> The manifest records a {@link ModelFingerprint}; {@link #verify} and
 * {@link CachedDataset#open} refuse a cache built from another model with a {@link CacheMismatchException} naming
 * every difference.
 *
 * <p>An opened cache is an immutable view of its manifest and thread-safe. Building is single-threaded and borrows
 * the model's components.
 */
public final class PrecomputeCache {
    private static final Logger LOG = LoggerFactory.getLogger(PrecomputeCache.class);
    private static final String ITEMS = "items";
    /**
     * Captions encoded per encoder call: batching them makes GPU encoders faster and, in a low-memory
     * {@link org.sd3j.onnx.model.Sd3Model}, loads each encoder once per batch instead of once per caption.
     */
    static final int CAPTION_BATCH = 16;

    private final Path directory;
    private final CacheManifest manifest;

    private PrecomputeCache(Path directory, CacheManifest manifest) {
        this.directory = directory;
        this.manifest = manifest;
    }

    /**
     * Precomputes {@code dataset} with {@code model} into {@code directory} (created if missing; a cache already
     * there is replaced: its manifest is deleted first, so an interrupted build never leaves a cache that opens).
     *
     * @return the new cache, opened
     * @throws EmptyDatasetException if no item could be cached (every image failed to decode)
     * @throws Sd3Exception          on a file that cannot be written, an encoder whose token count changes between
     *                               captions (long-prompt chunking), or a failing model component
     */
    public static PrecomputeCache build(ImageCaptionDataset dataset, EncodingModel model, Path directory) {
        Checks.notNull(dataset, "dataset");
        Checks.notNull(model, "model");
        Checks.notNull(directory, "directory");
        Path dir = directory.toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir.resolve(ITEMS));
            Files.deleteIfExists(dir.resolve(CacheManifest.FILE));
        } catch (IOException e) {
            throw new Sd3Exception("Cannot prepare the cache folder " + dir + ": " + e.getMessage(), e);
        }
        LOG.info("Precomputing {} images of {} into {}", dataset.size(), dataset.folder(), dir);
        long start = System.nanoTime();
        ModelFingerprint fingerprint = ModelFingerprint.of(model);
        Map<EncoderRole, EncodedText> empty = encodeCaptions(model, List.of(""));
        CacheFiles.writeEmptyCaption(dir.resolve(CacheManifest.EMPTY_CAPTION_FILE), empty);
        Map<String, Integer> tokenCounts = new LinkedHashMap<>();
        empty.forEach((role, out) -> tokenCounts.put(role.name(), out.tokens().dim(1)));

        List<SkippedImage> skipped = new ArrayList<>(dataset.skipped());
        List<CachedItem> items = new ArrayList<>();
        List<DatasetItem> all = dataset.items();
        for (int from = 0; from < all.size(); from += CAPTION_BATCH) {
            List<DatasetItem> readable = new ArrayList<>();
            List<Image> cropped = new ArrayList<>(); // Only the crops are kept: a batch of full photos can be GBs.
            for (DatasetItem item : all.subList(from, Math.min(from + CAPTION_BATCH, all.size()))) {
                try {
                    cropped.add(CenterCropResize.apply(ImageFiles.read(item.image()), item.bucket()));
                    readable.add(item);
                } catch (ImageFiles.UnreadableException e) {
                    ImageCaptionDataset.skip(skipped, item.image(), SkipReason.UNREADABLE_IMAGE, e.getMessage());
                }
            }
            if (readable.isEmpty()) {
                continue;
            }
            Map<EncoderRole, EncodedText> captions = encodeCaptions(model,
                    readable.stream().map(DatasetItem::caption).toList());
            checkTokenCounts(captions, tokenCounts, readable);
            for (int i = 0; i < readable.size(); i++) {
                DatasetItem item = readable.get(i);
                CacheFiles.ItemData data = encodeItem(model, cropped.get(i), item, itemOutputs(captions, i));
                String file = ITEMS + "/" + String.format(Locale.ROOT, "%06d", items.size()) + ".safetensors";
                CacheFiles.writeItem(dir.resolve(file), data, item.relativePath(), item.bucket());
                items.add(new CachedItem(items.size(), file, item.relativePath(), item.bucket()));
                LOG.debug("Cached {} as {}", item.relativePath(), file);
            }
        }
        Map<SkipReason, Integer> skipCounts = new EnumMap<>(ImageCaptionDataset.countSkips(skipped));
        if (items.isEmpty()) {
            throw new EmptyDatasetException(dataset.folder(), dataset.imageFiles(), skipCounts);
        }
        CacheManifest manifest = new CacheManifest(dataset.folder(), fingerprint, tokenCounts, items, skipCounts,
                dataset.imageFiles());
        manifest.write(dir);
        LOG.info("Cached {} items ({} skipped) in {} s", items.size(), skipped.size(),
                String.format(Locale.ROOT, "%.1f", (System.nanoTime() - start) / 1e9));
        return new PrecomputeCache(dir, manifest);
    }

    private static CacheFiles.ItemData encodeItem(EncodingModel model, Image cropped, DatasetItem item,
                                                  Map<EncoderRole, EncodedText> outputs) {
        LatentFormat format = model.vae().latentFormat();
        LatentDistribution latents = BackendException.wrap("vae", "encode",
                () -> model.vae().encode(cropped.toTensor()));
        int[] s = latents.mean().shape();
        Tensor mean = format.toDenoiserSpace(latents.mean()).reshape(s[1], s[2], s[3]);
        Tensor logvar = denoiserLogvar(latents.logvar(), format).reshape(s[1], s[2], s[3]);
        return new CacheFiles.ItemData(mean, logvar, outputs, item.caption());
    }

    /** Item {@code i}'s outputs {@code [1, ...]}: views of the batch's tensors. */
    private static Map<EncoderRole, EncodedText> itemOutputs(Map<EncoderRole, EncodedText> batch, int i) {
        Map<EncoderRole, EncodedText> out = new LinkedHashMap<>();
        batch.forEach((role, e) -> out.put(role, new EncodedText(e.tokens().slice(i, i + 1),
                e.pooled() == null ? null : e.pooled().slice(i, i + 1))));
        return out;
    }

    private static void checkTokenCounts(Map<EncoderRole, EncodedText> outputs, Map<String, Integer> tokenCounts,
                                         List<DatasetItem> items) {
        for (Map.Entry<EncoderRole, EncodedText> e : outputs.entrySet()) {
            int expected = tokenCounts.get(e.getKey().name());
            if (e.getValue().tokens().dim(1) != expected) {
                throw new Sd3Exception("The " + e.getKey() + " encoder returned " + e.getValue().tokens().dim(1)
                        + " tokens for the captions of " + items.get(0).image() + " and the next " + (items.size() - 1)
                        + " items but " + expected + " for the empty caption: the cache needs one token count per"
                        + " encoder (turn off long-prompt chunking)");
            }
        }
    }

    /** {@code clamp(logvar, -30, 20) + 2 ln(scaling)}: VAE-space log-variance to denoiser space. */
    static Tensor denoiserLogvar(Tensor vaeLogvar, LatentFormat format) {
        Tensor out = vaeLogvar.copy();
        double shift = 2 * Math.log(format.scalingFactor());
        for (int i = 0; i < out.size(); i++) {
            out.set(i, (float) (Math.min(Math.max(out.get(i), -30f), 20f) + shift));
        }
        return out;
    }

    /** Each encoder's outputs for a batch of captions, in slot order. */
    private static Map<EncoderRole, EncodedText> encodeCaptions(EncodingModel model, List<String> captions) {
        Map<EncoderRole, EncodedText> out = new LinkedHashMap<>();
        for (ConditioningLayout.Slot slot : model.layout().slots()) {
            for (TextEncoder e : model.encoders()) {
                if (e.role().equals(slot.role())) {
                    EncodedText encoded = BackendException.wrap(slot.role().name(), "encode",
                            () -> e.encode(captions));
                    out.put(slot.role(), checkShape(slot, encoded, captions.size()));
                }
            }
        }
        return out;
    }

    /** An encoder's output must fit its slot, or every training batch would fail to assemble later. */
    private static EncodedText checkShape(ConditioningLayout.Slot slot, EncodedText out, int batch) {
        boolean clip = slot.role().kind() == EncoderRole.Kind.CLIP;
        Tensor t = out == null ? null : out.tokens();
        if (t == null || t.dim(0) != batch || t.dim(2) != slot.features()
                || clip && (out.pooled() == null || !out.pooled().hasShape(batch, slot.pooled()))) {
            throw new BackendException(slot.role().name(), "encode", "returned tokens " + t + " and pooled "
                    + (out == null ? null : out.pooled()) + ", expected [" + batch + ", S, " + slot.features() + "]"
                    + (clip ? " and [" + batch + ", " + slot.pooled() + "]" : "") + " for the layout's " + slot.role()
                    + " slot");
        }
        return out;
    }

    /**
     * Opens the cache in {@code directory} (reads its manifest).
     *
     * @throws Sd3Exception if there is no complete cache there or its manifest is invalid; the message names the file
     */
    public static PrecomputeCache open(Path directory) {
        Checks.notNull(directory, "directory");
        Path dir = directory.toAbsolutePath().normalize();
        return new PrecomputeCache(dir, CacheManifest.read(dir));
    }

    /**
     * Checks that this cache was built from {@code model}: same latent format, layout, encoders, and probe outputs
     * within {@link ProbeSignature#TOLERANCE}. A different model name alone (a renamed folder) only logs a warning.
     *
     * @throws CacheMismatchException naming every difference
     */
    public void verify(ModelFingerprint model) {
        Checks.notNull(model, "model");
        ModelFingerprint cached = manifest.fingerprint();
        List<String> differences = cached.differences(model);
        if (!differences.isEmpty()) {
            throw new CacheMismatchException(directory, cached.name(), model.name(), differences);
        }
        if (!cached.name().equals(model.name())) {
            LOG.warn("The cache {} was built from a model named '{}', now '{}'; its outputs match, so the cache is"
                    + " used (rebuild it if the model changed in ways the probes cannot see)", directory,
                    cached.name(), model.name());
        }
    }

    /** The cache folder (absolute). */
    public Path directory() {
        return directory;
    }

    /** The dataset folder the cache was built from. */
    public Path datasetFolder() {
        return manifest.dataset();
    }

    /** The fingerprint of the model the cache was built from. */
    public ModelFingerprint fingerprint() {
        return manifest.fingerprint();
    }

    /** The cached items in order, unmodifiable. */
    public List<CachedItem> items() {
        return manifest.items();
    }

    public int size() {
        return manifest.items().size();
    }

    /** Item counts per bucket, tall to wide. */
    public Map<BucketSize, Integer> bucketCounts() {
        return manifest.bucketCounts();
    }

    /** Images of the dataset folder skipped by the scan or the precompute pass, by reason (all reasons present). */
    public Map<SkipReason, Integer> skipCounts() {
        return manifest.skipCounts();
    }

    /** Per present encoder role name, the token count S of its cached outputs. */
    public Map<String, Integer> tokenCounts() {
        return manifest.tokenCounts();
    }

    CacheManifest manifest() {
        return manifest;
    }

    @Override
    public String toString() {
        return "PrecomputeCache[" + directory + ", " + size() + " items, model " + manifest.fingerprint().name() + "]";
    }
}
