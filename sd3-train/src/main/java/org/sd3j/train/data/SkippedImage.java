package org.sd3j.train.data;

import java.nio.file.Path;

import org.sd3j.internal.Checks;

/**
 * An image file that is not trained on, and why.
 *
 * @param file   the image file
 * @param reason the category, counted per dataset
 * @param detail what exactly was wrong ("1 of 3 sides ..."), for logs and reports
 */
public record SkippedImage(Path file, SkipReason reason, String detail) {
    public SkippedImage {
        Checks.notNull(file, "file");
        Checks.notNull(reason, "reason");
        Checks.notNull(detail, "detail");
    }
}
