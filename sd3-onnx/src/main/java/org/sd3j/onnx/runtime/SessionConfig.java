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
 * @param prepacking     whether MatMul/Gemm weights are repacked at session creation
 * @param profilePrefix  when non-null, ONNX Runtime writes a per-op profile (Chrome trace JSON) to files starting
 *                       with this path
 */
public record SessionConfig(ExecutionProvider provider, int deviceId, int intraOpThreads, Prepacking prepacking,
                            Path profilePrefix) {

    /**
     * ONNX Runtime can repack MatMul/Gemm weights into its kernels' layout once, at session creation: faster
     * forwards (about 10-15% on CPU) for a second copy of those weights in memory.
     */
    public enum Prepacking {
        /** Repack when a graph's weights total at most {@link #AUTO_LIMIT_BYTES}: small models gain speed. */
        AUTO,
        ON,
        /** Weights stay where they are (memory-mapped): memory stays at about the checkpoint's size. */
        OFF;

        /** Largest weight total that {@link #AUTO} repacks: 1 GiB. */
        public static final long AUTO_LIMIT_BYTES = 1L << 30;

        /** Whether weights totalling {@code weightBytes} get repacked. */
        public boolean appliesTo(long weightBytes) {
            return this == ON || (this == AUTO && weightBytes <= AUTO_LIMIT_BYTES);
        }
    }

    public SessionConfig {
        Checks.notNull(provider, "provider");
        Checks.atLeast(deviceId, 0, "deviceId");
        Checks.atLeast(intraOpThreads, 0, "intraOpThreads");
        Checks.notNull(prepacking, "prepacking");
    }

    /** CPU with ONNX Runtime's default threading. */
    public static SessionConfig cpu() {
        return new SessionConfig(ExecutionProvider.CPU, 0, 0, Prepacking.AUTO, null);
    }

    /** CUDA on GPU {@code deviceId}. */
    public static SessionConfig cuda(int deviceId) {
        return new SessionConfig(ExecutionProvider.CUDA, deviceId, 0, Prepacking.AUTO, null);
    }

    public SessionConfig withIntraOpThreads(int threads) {
        return new SessionConfig(provider, deviceId, threads, prepacking, profilePrefix);
    }

    public SessionConfig withPrepacking(Prepacking prepacking) {
        return new SessionConfig(provider, deviceId, intraOpThreads, prepacking, profilePrefix);
    }

    /** Turns on ONNX Runtime's per-op profiling, written to files starting with {@code prefix}. */
    public SessionConfig withProfiling(Path prefix) {
        return new SessionConfig(provider, deviceId, intraOpThreads, prepacking, Checks.notNull(prefix, "prefix"));
    }

    public Optional<Path> profiling() {
        return Optional.ofNullable(profilePrefix);
    }
}
