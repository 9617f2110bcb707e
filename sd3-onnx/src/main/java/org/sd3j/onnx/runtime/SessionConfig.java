package org.sd3j.onnx.runtime;

import java.nio.file.Path;
import java.util.Optional;

import org.sd3j.internal.Checks;

/**
 * Per-session ONNX Runtime settings, free of ONNX Runtime types. Immutable and thread-safe.
 *
 * @param provider       execution provider
 * @param deviceId       GPU index for CUDA
 * @param intraOpThreads threads per op (0: ONNX Runtime's default, one per physical core)
 * @param profilePrefix  when non-null, ONNX Runtime writes a per-op profile (Chrome trace JSON) to files starting
 *                       with this path
 */
public record SessionConfig(ExecutionProvider provider, int deviceId, int intraOpThreads, Path profilePrefix) {
    public SessionConfig {
        Checks.notNull(provider, "provider");
        Checks.atLeast(deviceId, 0, "deviceId");
        Checks.atLeast(intraOpThreads, 0, "intraOpThreads");
    }

    /** CPU with ONNX Runtime's default threading. */
    public static SessionConfig cpu() {
        return new SessionConfig(ExecutionProvider.CPU, 0, 0, null);
    }

    /** CUDA on GPU {@code deviceId}. */
    public static SessionConfig cuda(int deviceId) {
        return new SessionConfig(ExecutionProvider.CUDA, deviceId, 0, null);
    }

    public SessionConfig withIntraOpThreads(int threads) {
        return new SessionConfig(provider, deviceId, threads, profilePrefix);
    }

    /** Turns on ONNX Runtime's per-op profiling, written to files starting with {@code prefix}. */
    public SessionConfig withProfiling(Path prefix) {
        return new SessionConfig(provider, deviceId, intraOpThreads, Checks.notNull(prefix, "prefix"));
    }

    public Optional<Path> profiling() {
        return Optional.ofNullable(profilePrefix);
    }
}
