package org.sd3j.train.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.sd3j.Sd3Exception;
import org.sd3j.internal.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A folder of captioned images, ready for {@link PrecomputeCache#build}.
 *
 * <p><b>Files.</b> Every file under the folder (sub-folders included, hidden files and folders excluded) whose
 * extension is png, jpg, jpeg, bmp or webp (webp needs an ImageIO WebP plug-in on the class path) is an image. Its
 * caption comes from the folder's {@code metadata.jsonl} (Hugging Face imagefolder: lines like
 * {@code {"file_name": "cats/1.png", "text": "a cat"}}, names relative to the folder; the caption field is
 * configurable), else from a UTF-8 {@code .txt} file of the same base name beside it. Captions are trimmed.
 *
 * <p><b>Order.</b> Items are sorted by their path relative to the folder ({@code /}-separated, by
 * {@link String#compareTo}): the same folder always gives the same items in the same order.
 *
 * <p><b>Bad data is skipped, never fatal.</b> A file that cannot be read (corrupt, unsupported), an image without
 * a non-blank caption, and an image smaller than its bucket on a side (unless {@link Options.Builder#upscaleSmall
 * upscaling} is allowed) are skipped: each is logged once at WARN with the file, the reason and the fix, and counted
 * ({@link #skipCounts()}). Only image headers are read here (sizes), unless de-duplication decodes the pixels; a file
 * whose header reads but whose pixels do not is skipped later by {@link PrecomputeCache#build} the same way.
 * Optional de-duplication ({@link Options.Builder#deduplicate(int)}) drops near-identical images by perceptual hash,
 * keeping the first in sorted order. A folder with nothing left throws {@link EmptyDatasetException}, naming the
 * folder and the skips by reason.
 *
 * <p>Immutable and thread-safe.
 */
public final class ImageCaptionDataset {
    private static final Logger LOG = LoggerFactory.getLogger(ImageCaptionDataset.class);

    /** How a folder is read. Immutable. */
    public static final class Options {
        private final AspectBuckets buckets;
        private final String captionField;
        private final boolean upscaleSmall;
        private final int dedupDistance;

        private Options(Builder b) {
            this.buckets = b.buckets;
            this.captionField = b.captionField;
            this.upscaleSmall = b.upscaleSmall;
            this.dedupDistance = b.dedupDistance;
        }

        /** Options with {@code buckets} as the training sizes and everything else at its default. */
        public static Builder builder(AspectBuckets buckets) {
            return new Builder(buckets);
        }

        public AspectBuckets buckets() {
            return buckets;
        }

        /** The {@code metadata.jsonl} field holding the caption ({@code text} by default). */
        public String captionField() {
            return captionField;
        }

        /** Whether images smaller than their bucket are upscaled instead of skipped (default false). */
        public boolean upscaleSmall() {
            return upscaleSmall;
        }

        /** The largest dHash distance counted as a duplicate, or -1 when de-duplication is off (the default). */
        public int dedupDistance() {
            return dedupDistance;
        }

        /** Builds {@link Options}. Not thread-safe. */
        public static final class Builder {
            private final AspectBuckets buckets;
            private String captionField = "text";
            private boolean upscaleSmall;
            private int dedupDistance = -1;

            private Builder(AspectBuckets buckets) {
                this.buckets = Checks.notNull(buckets, "buckets");
            }

            /** The {@code metadata.jsonl} field holding captions, e.g. {@code "caption"}. */
            public Builder captionField(String field) {
                Checks.notNull(field, "field");
                if (field.isBlank()) {
                    throw Checks.fail("captionField", "non-blank", "'" + field + "'");
                }
                this.captionField = field;
                return this;
            }

            /** Upscale (bilinear) images smaller than their bucket instead of skipping them as too small. */
            public Builder upscaleSmall(boolean upscale) {
                this.upscaleSmall = upscale;
                return this;
            }

            /**
             * Drops images whose 64-bit dHash ({@link PerceptualHash}) is within {@code maxDistance} bits of an
             * image kept earlier in sorted order: 0 catches re-encodes of the same picture, about 4 to 6 also
             * resized or slightly edited copies. Decodes every image once during the scan.
             *
             * @param maxDistance 0 to 64
             */
            public Builder deduplicate(int maxDistance) {
                if (maxDistance < 0 || maxDistance > 64) {
                    throw Checks.fail("maxDistance", "in [0, 64]", maxDistance);
                }
                this.dedupDistance = maxDistance;
                return this;
            }

            /** Turns de-duplication off (the default). */
            public Builder noDeduplication() {
                this.dedupDistance = -1;
                return this;
            }

            public Options build() {
                return new Options(this);
            }
        }
    }

    private final Path folder;
    private final Options options;
    private final List<DatasetItem> items;
    private final List<SkippedImage> skipped;
    private final int imageFiles;

    private ImageCaptionDataset(Path folder, Options options, List<DatasetItem> items, List<SkippedImage> skipped,
                                int imageFiles) {
        this.folder = folder;
        this.options = options;
        this.items = List.copyOf(items);
        this.skipped = List.copyOf(skipped);
        this.imageFiles = imageFiles;
    }

    /** Scans {@code folder} with {@code buckets} as the training sizes and default options. */
    public static ImageCaptionDataset scan(Path folder, AspectBuckets buckets) {
        return scan(folder, Options.builder(buckets).build());
    }

    /**
     * Scans {@code folder}: lists the images, finds their captions, reads their sizes, assigns buckets, skips bad
     * data (see the class comment) and optionally de-duplicates.
     *
     * @throws IllegalArgumentException if {@code folder} is not a directory
     * @throws EmptyDatasetException    if no image is left
     * @throws Sd3Exception             if the folder or its {@code metadata.jsonl} cannot be read
     */
    public static ImageCaptionDataset scan(Path folder, Options options) {
        Checks.notNull(folder, "folder");
        Checks.notNull(options, "options");
        if (!Files.isDirectory(folder)) {
            throw Checks.fail("folder", "an existing directory", folder);
        }
        Path root = folder.toAbsolutePath().normalize();
        List<Path> files = listImages(root);
        Captions captions = Captions.load(root, options.captionField());
        List<SkippedImage> skipped = new ArrayList<>();
        List<DatasetItem> items = new ArrayList<>();
        for (Path file : files) {
            String relative = relativePath(root, file);
            Captions.Lookup caption = captions.find(relative);
            DatasetItem item = check(file, relative, caption.caption(), caption.missingReason(), options, skipped);
            if (item != null) {
                items.add(item);
            }
        }
        if (options.dedupDistance() >= 0) {
            items = NearDuplicates.filter(items, options.dedupDistance(), skipped);
        }
        return finish(root, options, items, skipped, files.size());
    }

    /** An image file and its caption, for {@link #of}. */
    public record Entry(Path image, String caption) {
        public Entry {
            Checks.notNull(image, "image");
        }

        /** Prompts stay out of logs above DEBUG. */
        @Override
        public String toString() {
            return "Entry[" + image + "]";
        }
    }

    /**
     * The given images and captions, in the given order, checked and skipped as {@link #scan} does (unreadable,
     * blank caption, too small; de-duplication as the options say). The same file may appear more than once (a
     * preference dataset pairs one image with several others); its relative path is then repeated too.
     *
     * @param root the folder the items' relative paths are taken from (e.g. the file that listed them)
     * @throws EmptyDatasetException if no image is left
     */
    public static ImageCaptionDataset of(Path root, List<Entry> entries, Options options) {
        Checks.notNull(root, "root");
        Checks.notNull(entries, "entries");
        Checks.notNull(options, "options");
        Path base = root.toAbsolutePath().normalize();
        List<SkippedImage> skipped = new ArrayList<>();
        List<DatasetItem> items = new ArrayList<>();
        for (Entry e : entries) {
            Path file = base.resolve(e.image()).normalize();
            String caption = e.caption() == null || e.caption().isBlank() ? null : e.caption().trim();
            DatasetItem item = check(file, relativePath(base, file), caption, "blank or missing caption", options,
                    skipped);
            if (item != null) {
                items.add(item);
            }
        }
        if (options.dedupDistance() >= 0) {
            items = NearDuplicates.filter(items, options.dedupDistance(), skipped);
        }
        return finish(base, options, items, skipped, entries.size());
    }

    /** The item, or null after logging and counting why it is skipped. */
    private static DatasetItem check(Path file, String relative, String caption, String missingCaption,
                                     Options options, List<SkippedImage> skipped) {
        ImageFiles.Size size;
        try {
            size = ImageFiles.readSize(file);
        } catch (ImageFiles.UnreadableException e) {
            skip(skipped, file, SkipReason.UNREADABLE_IMAGE, e.getMessage());
            return null;
        }
        if (caption == null) {
            skip(skipped, file, SkipReason.MISSING_CAPTION, missingCaption);
            return null;
        }
        BucketSize bucket = options.buckets().assign(size.width(), size.height());
        double scale = CenterCropResize.coverScale(size.width(), size.height(), bucket);
        if (scale > 1 && !options.upscaleSmall()) {
            skip(skipped, file, SkipReason.TOO_SMALL, size.width() + "x" + size.height()
                    + " is smaller than its bucket " + bucket + String.format(Locale.ROOT,
                    " (it would need upscaling x%.3f); use a larger image, smaller buckets, or"
                            + " Options.Builder.upscaleSmall(true)", scale));
            return null;
        }
        return new DatasetItem(file, relative, caption, size.width(), size.height(), bucket);
    }

    private static ImageCaptionDataset finish(Path root, Options options, List<DatasetItem> items,
                                              List<SkippedImage> skipped, int imageFiles) {
        ImageCaptionDataset dataset = new ImageCaptionDataset(root, options, items, skipped, imageFiles);
        if (items.isEmpty()) {
            throw new EmptyDatasetException(root, imageFiles, dataset.skipCounts());
        }
        LOG.info("Dataset {}: {} images in {} buckets, {} skipped{}", root, items.size(),
                dataset.bucketCounts().size(), skipped.size(), skipped.isEmpty() ? "" : " " + dataset.skipCounts());
        return dataset;
    }

    static void skip(List<SkippedImage> skipped, Path file, SkipReason reason, String detail) {
        LOG.warn("Skipping {}: {}: {}", file, reason.label(), detail);
        skipped.add(new SkippedImage(file, reason, detail));
    }

    /** The image files under {@code root}, hidden ones left out, sorted by relative path. */
    static List<Path> listImages(Path root) {
        // The real folder is walked so that a root that is a symbolic link (a data folder shared between work
        // folders) is followed; links inside are not, so a link cycle cannot make the walk endless. Paths are mapped
        // back under the root as the user named it.
        try {
            Path real = root.toRealPath();
            try (Stream<Path> walk = Files.walk(real)) {
                return walk.map(p -> root.resolve(real.relativize(p)))
                        .filter(p -> !isHidden(root, p))
                        .filter(Files::isRegularFile)
                        .filter(ImageFiles::isImage)
                        .sorted((a, b) -> relativePath(root, a).compareTo(relativePath(root, b)))
                        .collect(Collectors.toList());
            }
        } catch (IOException | UncheckedIOException e) {
            throw new Sd3Exception("Cannot list the dataset folder " + root + ": " + e.getMessage(), e);
        }
    }

    private static boolean isHidden(Path root, Path p) {
        for (Path part : root.relativize(p)) {
            if (part.toString().startsWith(".")) {
                return true;
            }
        }
        return false;
    }

    static String relativePath(Path root, Path file) {
        StringBuilder sb = new StringBuilder();
        for (Path part : root.relativize(file)) {
            if (sb.length() > 0) {
                sb.append('/');
            }
            sb.append(part);
        }
        return sb.toString();
    }

    /** The dataset folder (absolute, normalized). */
    public Path folder() {
        return folder;
    }

    public Options options() {
        return options;
    }

    /** The usable items in sorted order, unmodifiable. */
    public List<DatasetItem> items() {
        return items;
    }

    public int size() {
        return items.size();
    }

    /** How many image files the folder holds (used or skipped). */
    public int imageFiles() {
        return imageFiles;
    }

    /** The skipped files in the order they were met, unmodifiable. */
    public List<SkippedImage> skipped() {
        return skipped;
    }

    /** Skips by reason, every reason present (0 where none). */
    public Map<SkipReason, Integer> skipCounts() {
        return countSkips(skipped);
    }

    static Map<SkipReason, Integer> countSkips(List<SkippedImage> skipped) {
        EnumMap<SkipReason, Integer> counts = new EnumMap<>(SkipReason.class);
        for (SkipReason r : SkipReason.values()) {
            counts.put(r, 0);
        }
        for (SkippedImage s : skipped) {
            counts.merge(s.reason(), 1, Integer::sum);
        }
        return Collections.unmodifiableMap(counts);
    }

    /** Item counts of the buckets in use, in the buckets' order (tall to wide). */
    public Map<BucketSize, Integer> bucketCounts() {
        Map<BucketSize, Integer> counts = new LinkedHashMap<>();
        for (BucketSize b : options.buckets().sizes()) {
            int n = (int) items.stream().filter(i -> i.bucket().equals(b)).count();
            if (n > 0) {
                counts.put(b, n);
            }
        }
        return Collections.unmodifiableMap(counts);
    }

    @Override
    public String toString() {
        return "ImageCaptionDataset[" + folder + ", " + items.size() + " items, " + skipped.size() + " skipped]";
    }
}
