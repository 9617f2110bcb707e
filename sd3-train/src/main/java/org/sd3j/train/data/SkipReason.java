package org.sd3j.train.data;

/** Why an image file of a dataset folder is not trained on. */
public enum SkipReason {
    /** The file cannot be decoded: corrupt, truncated, or a format without an ImageIO reader. */
    UNREADABLE_IMAGE("unreadable image"),
    /** Neither {@code metadata.jsonl} nor a {@code .txt} sidecar gives it a non-blank caption. */
    MISSING_CAPTION("missing caption"),
    /** Smaller than its training size on at least one side (it would need upscaling). */
    TOO_SMALL("too small"),
    /** A near duplicate (perceptual hash) of an image earlier in sorted order. */
    DUPLICATE("duplicate");

    private final String label;

    SkipReason(String label) {
        this.label = label;
    }

    /** Lower-case words for messages ("missing caption"). */
    public String label() {
        return label;
    }
}
