package org.sd3j;

/**
 * Root of every unchecked exception sd3j throws on purpose. Argument errors are plain
 * {@link IllegalArgumentException}s ("steps must be >= 1, found 0"); everything that goes wrong while
 * loading or running a model is an {@code Sd3Exception} or one of its subclasses.
 */
public class Sd3Exception extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public Sd3Exception(String message) {
        super(message);
    }

    public Sd3Exception(String message, Throwable cause) {
        super(message, cause);
    }
}
