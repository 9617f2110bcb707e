package org.sd3j.train.data;

import java.nio.file.Path;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Collectors;

import org.sd3j.Sd3Exception;

/**
 * A dataset folder holds no image that can be trained on: none at all, or every one skipped. The message names
 * the folder and the number of skips by reason.
 */
public class EmptyDatasetException extends Sd3Exception {
    private static final long serialVersionUID = 1L;

    private final transient Path folder;
    private final Map<SkipReason, Integer> skipCounts;

    /**
     * @param folder     the dataset folder
     * @param imageFiles how many image files it holds
     * @param skipCounts skips by reason (missing reasons count 0)
     */
    public EmptyDatasetException(Path folder, int imageFiles, Map<SkipReason, Integer> skipCounts) {
        super(message(folder, imageFiles, skipCounts));
        this.folder = folder;
        EnumMap<SkipReason, Integer> counts = new EnumMap<>(SkipReason.class);
        for (SkipReason r : SkipReason.values()) {
            counts.put(r, skipCounts.getOrDefault(r, 0));
        }
        this.skipCounts = Collections.unmodifiableMap(counts);
    }

    /** The dataset folder. */
    public Path folder() {
        return folder;
    }

    /** Skips by reason, every reason present. */
    public Map<SkipReason, Integer> skipCounts() {
        return skipCounts;
    }

    private static String message(Path folder, int imageFiles, Map<SkipReason, Integer> skipCounts) {
        if (imageFiles == 0) {
            return "No image files (" + String.join(", ", ImageFiles.EXTENSIONS) + ") in " + folder
                    + ": add images with captions (a .txt file of the same name beside each, or a metadata.jsonl"
                    + " with \"file_name\" and \"text\")";
        }
        String counts = java.util.Arrays.stream(SkipReason.values())
                .map(r -> r.label() + ": " + skipCounts.getOrDefault(r, 0))
                .collect(Collectors.joining(", "));
        return "No usable images in " + folder + ": all " + imageFiles + " image files were skipped (" + counts
                + "); the warnings logged for each file say what to fix";
    }
}
