package org.sd3j.train.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.sd3j.image.Image;
import org.sd3j.internal.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The images of a folder without captions, decoded and center-cropped to one training size, e.g. for autoencoder
 * training. The files are those {@link ImageCaptionDataset} would use (sub-folders included, hidden files left
 * out, sorted by relative path); captions are ignored. An unreadable file and an image smaller than the size on a
 * side are skipped, each logged once at WARN with the reason. Stateless.
 */
public final class ImageFolder {
    private static final Logger LOG = LoggerFactory.getLogger(ImageFolder.class);

    private ImageFolder() {
    }

    /**
     * Every usable image of {@code folder}, resized to cover {@code size} and center-cropped to it
     * ({@link CenterCropResize}), in sorted order. Holds them all in memory (3 bytes per pixel).
     *
     * @throws IllegalArgumentException if {@code folder} is not a directory
     * @throws EmptyDatasetException    if no image is left
     */
    public static List<Image> read(Path folder, BucketSize size) {
        Checks.notNull(folder, "folder");
        Checks.notNull(size, "size");
        if (!Files.isDirectory(folder)) {
            throw Checks.fail("folder", "an existing directory", folder);
        }
        Path root = folder.toAbsolutePath().normalize();
        List<Path> files = ImageCaptionDataset.listImages(root);
        List<SkippedImage> skipped = new ArrayList<>();
        List<Image> images = new ArrayList<>();
        for (Path file : files) {
            Image image;
            try {
                image = ImageFiles.read(file);
            } catch (ImageFiles.UnreadableException e) {
                ImageCaptionDataset.skip(skipped, file, SkipReason.UNREADABLE_IMAGE, e.getMessage());
                continue;
            }
            double scale = CenterCropResize.coverScale(image.width(), image.height(), size);
            if (scale > 1) {
                ImageCaptionDataset.skip(skipped, file, SkipReason.TOO_SMALL, image.width() + "x" + image.height()
                        + " is smaller than " + size + String.format(Locale.ROOT, " (it would need upscaling x%.3f);"
                        + " use a larger image or a smaller training size", scale));
                continue;
            }
            images.add(CenterCropResize.apply(image, size));
        }
        if (images.isEmpty()) {
            Map<SkipReason, Integer> counts = new EnumMap<>(SkipReason.class);
            skipped.forEach(s -> counts.merge(s.reason(), 1, Integer::sum));
            throw new EmptyDatasetException(root, files.size(), counts);
        }
        LOG.info("Image folder {}: {} images at {}, {} skipped", root, images.size(), size, skipped.size());
        return Collections.unmodifiableList(images);
    }
}
