package org.sd3j.onnx.runtime;

import org.sd3j.Sd3Exception;

/**
 * The requested execution provider cannot be used by this ONNX Runtime (wrong artifact, missing CUDA libraries,
 * no such device). The message says what ONNX Runtime reported and how to fix it; {@link OnnxOptions.Fallback#CPU}
 * turns this error into a warning and a CPU session.
 */
public class ProviderUnavailableException extends Sd3Exception {
    private static final long serialVersionUID = 1L;

    private final transient ExecutionProvider provider;

    public ProviderUnavailableException(ExecutionProvider provider, String message, Throwable cause) {
        super(message, cause);
        this.provider = provider;
    }

    /** The provider that was asked for. */
    public ExecutionProvider provider() {
        return provider;
    }
}
