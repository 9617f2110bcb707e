package org.sd3j.train.data;

import java.util.Set;

import org.sd3j.internal.Checks;
import org.sd3j.model.EncoderRole;

/**
 * What went into one sample of a {@link TrainingBatch}.
 *
 * @param item            the cached item's index
 * @param source          the image's path relative to the dataset folder
 * @param caption         the cached caption
 * @param captionDropped  whether caption dropout replaced the caption's encodings with the empty caption's
 * @param droppedEncoders the roles whose slot encoder dropout set to zeros for this sample
 */
public record BatchSample(int item, String source, String caption, boolean captionDropped,
                          Set<EncoderRole> droppedEncoders) {
    public BatchSample {
        Checks.notNull(source, "source");
        Checks.notNull(caption, "caption");
        droppedEncoders = Set.copyOf(Checks.notNull(droppedEncoders, "droppedEncoders"));
    }

    /** The text the sample is conditioned on: the caption, or {@code ""} when caption dropout hit. */
    public String effectiveCaption() {
        return captionDropped ? "" : caption;
    }

    /** The caption stays out of logs above DEBUG, so it is left out here. */
    @Override
    public String toString() {
        return "BatchSample[" + item + " " + source + (captionDropped ? ", caption dropped" : "")
                + (droppedEncoders.isEmpty() ? "" : ", dropped " + droppedEncoders) + "]";
    }
}
