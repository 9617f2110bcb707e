package org.sd3j;

/** Training produced a non-finite loss or gradient and stopped rather than write a corrupt adapter. */
public class TrainingDivergedException extends Sd3Exception {
    private static final long serialVersionUID = 1L;

    public TrainingDivergedException(String message) {
        super(message);
    }
}
