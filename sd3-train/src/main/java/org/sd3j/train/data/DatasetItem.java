package org.sd3j.train.data;

import java.nio.file.Path;

import org.sd3j.internal.Checks;

/**
 * One image and its caption, as found in a dataset folder.
 *
 * @param image        the image file
 * @param relativePath the file's path relative to the dataset folder, with {@code /} separators (the sort key)
 * @param caption      the caption text, trimmed, non-blank
 * @param width        the image's width in pixels (from its header)
 * @param height       the image's height in pixels
 * @param bucket       the training size it is resized and center-cropped to
 */
public record DatasetItem(Path image, String relativePath, String caption, int width, int height,
                          BucketSize bucket) {
    public DatasetItem {
        Checks.notNull(image, "image");
        Checks.notNull(relativePath, "relativePath");
        Checks.notNull(caption, "caption");
        Checks.atLeast(width, 1, "width");
        Checks.atLeast(height, 1, "height");
        Checks.notNull(bucket, "bucket");
    }

    /** Prompts stay out of logs above DEBUG, so the caption is left out here too. */
    @Override
    public String toString() {
        return "DatasetItem[" + relativePath + ", " + width + "x" + height + " -> " + bucket + "]";
    }
}
