package org.sd3j.examples.cli;

import org.sd3j.Generation;
import org.sd3j.GenerationResult;
import org.sd3j.Sd3Exception;

/**
 * Runs a {@link Generation}, turning the library's "encoder has no tokenizer" state (an encoder loaded from a
 * single-file checkpoint, or from a folder without tokenizer folders) into a user error that says what to do.
 */
final class GenerationRunner {
    static final String NO_TOKENIZER = "The model has no tokenizer for its text encoders (a single-file checkpoint "
            + "carries none): convert it with 'sd3 convert CHECKPOINT --tokenizers DIR OUT', where DIR is a "
            + "diffusers-style folder holding tokenizer/, tokenizer_2/ and tokenizer_3/, and generate with "
            + "--model OUT; or copy those folders into the model folder";

    private GenerationRunner() {
    }

    static GenerationResult execute(Generation generation) {
        try {
            return generation.execute();
        } catch (RuntimeException e) {
            if (lacksTokenizer(e)) {
                throw new Sd3Exception(NO_TOKENIZER, e);
            }
            throw e;
        }
    }

    /** Whether {@code e} is (or was caused by) the library's "encoder has no tokenizer" state. */
    static boolean lacksTokenizer(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IllegalStateException && String.valueOf(t.getMessage()).contains("has no tokenizer")) {
                return true;
            }
        }
        return false;
    }
}
