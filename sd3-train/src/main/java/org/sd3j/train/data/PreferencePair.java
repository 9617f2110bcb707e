package org.sd3j.train.data;

import java.nio.file.Path;

import org.sd3j.internal.Checks;

/**
 * One preference: a prompt and two images of it, the preferred ("chosen") one and the other.
 *
 * @param prompt   the prompt both images were made for
 * @param chosen   the preferred image file
 * @param rejected the other image file
 */
public record PreferencePair(String prompt, Path chosen, Path rejected) {
    public PreferencePair {
        Checks.notNull(prompt, "prompt");
        Checks.notNull(chosen, "chosen");
        Checks.notNull(rejected, "rejected");
    }

    /** Prompts stay out of logs above DEBUG. */
    @Override
    public String toString() {
        return "PreferencePair[" + chosen + " over " + rejected + "]";
    }
}
