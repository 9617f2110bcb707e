package org.sd3j;

/** A backend component (text encoder, denoiser, VAE) failed while running. */
public class BackendException extends Sd3Exception {
    private static final long serialVersionUID = 1L;

    private final String component;
    private final String operation;

    public BackendException(String component, String operation, String message, Throwable cause) {
        super(component + "." + operation + " failed: " + message, cause);
        this.component = component;
        this.operation = operation;
    }

    public BackendException(String component, String operation, String message) {
        this(component, operation, message, null);
    }

    /**
     * Runs a backend call, passing {@link Sd3Exception}s through and wrapping any other runtime exception in a
     * {@code BackendException} that names the component and operation.
     */
    public static <T> T wrap(String component, String operation, java.util.function.Supplier<T> call) {
        try {
            return call.get();
        } catch (Sd3Exception e) {
            throw e;
        } catch (RuntimeException e) {
            throw new BackendException(component, operation, e.toString(), e);
        }
    }

    /** The failing component, e.g. {@code "denoiser"} or {@code "text_encoder_3"}. */
    public String component() {
        return component;
    }

    /** The operation that failed, e.g. {@code "velocity"} or {@code "decode"}. */
    public String operation() {
        return operation;
    }
}
