package org.sd3j;

/**
 * A generation was canceled, through {@link Generation#cancel()} or by interrupting the thread running it.
 * When the cause was an interrupt, the thread's interrupt flag is left set.
 */
public class GenerationCanceledException extends Sd3Exception {
    private static final long serialVersionUID = 1L;

    private final int completedSteps;

    public GenerationCanceledException(String message, int completedSteps) {
        super(message);
        this.completedSteps = completedSteps;
    }

    /** Sampling steps fully completed before the cancel took effect. */
    public int completedSteps() {
        return completedSteps;
    }
}
