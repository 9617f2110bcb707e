package org.sd3j.onnx.runtime;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import org.sd3j.internal.Checks;

/**
 * How ONNX Runtime sessions are created: execution provider (and what happens when it is unavailable), threads,
 * graph optimization level, memory arena, weight prepacking, profiling, and free-form session config entries as
 * an escape hatch. Free of ONNX Runtime types. Immutable and thread-safe; build one with {@link #builder()} or
 * start from {@link #cpu()} / {@link #cuda(int)}.
 *
 * <pre>{@code
 * OnnxOptions options = OnnxOptions.builder()
 *         .provider(ExecutionProvider.cuda(0))
 *         .fallback(OnnxOptions.Fallback.CPU)     // warn and run on the CPU when CUDA is not usable
 *         .intraOpThreads(8)
 *         .configEntry("session.use_env_allocators", "1")
 *         .build();
 * }</pre>
 */
public final class OnnxOptions {

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

    /** ONNX Runtime's graph optimization levels. */
    public enum OptimizationLevel {
        NONE,
        BASIC,
        EXTENDED,
        /** Every optimization, layout ones included (the default). */
        ALL
    }

    /**
     * Whether ONNX Runtime's intra-op threads spin-wait for their next piece of work instead of sleeping. Waking a
     * sleeping thread costs microseconds per op, which adds up over the thousands of small ops of a training step;
     * a thread that keeps spinning after its session's run takes a core from whatever runs next (another session of
     * the same model, the optimizer's update in Java).
     */
    public enum Spinning {
        /** Threads sleep whenever they run out of work. */
        OFF,
        /**
         * Threads spin between the ops of a run and stop as soon as the run returns (ONNX Runtime's
         * {@code session.force_spinning_stop}): the speed of spinning without its cost to the code that runs next.
         */
        DURING_RUN,
        /** ONNX Runtime's own default: threads also keep spinning for a while after a run. */
        ALWAYS
    }

    /** What happens when the requested execution provider cannot be used. */
    public enum Fallback {
        /** Fail with an error that says why and how to fix it (the default). */
        FAIL,
        /** Log a warning that says why and how to fix it, and run on the CPU. */
        CPU
    }

    private final ExecutionProvider provider;
    private final Fallback fallback;
    private final int intraOpThreads;
    private final OptimizationLevel optimizationLevel;
    private final boolean memoryArena;
    private final Prepacking prepacking;
    private final Path profilePrefix;
    private final Map<String, String> configEntries;
    private final OnnxRunListener runListener;
    private final Spinning spinning;
    private final Map<String, Long> fixedDimensions;

    private OnnxOptions(Builder b) {
        this.fixedDimensions = Collections.unmodifiableMap(new LinkedHashMap<>(b.fixedDimensions));
        this.spinning = b.spinning;
        this.provider = b.provider;
        this.fallback = b.fallback;
        this.intraOpThreads = b.intraOpThreads;
        this.optimizationLevel = b.optimizationLevel;
        this.memoryArena = b.memoryArena;
        this.prepacking = b.prepacking;
        this.profilePrefix = b.profilePrefix;
        this.configEntries = Collections.unmodifiableMap(new LinkedHashMap<>(b.configEntries));
        this.runListener = b.runListener;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** CPU with ONNX Runtime's default threading. */
    public static OnnxOptions cpu() {
        return builder().build();
    }

    /** CUDA on GPU {@code deviceId}, failing when CUDA is unavailable. */
    public static OnnxOptions cuda(int deviceId) {
        return builder().provider(ExecutionProvider.cuda(deviceId)).build();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.provider = provider;
        b.fallback = fallback;
        b.intraOpThreads = intraOpThreads;
        b.optimizationLevel = optimizationLevel;
        b.memoryArena = memoryArena;
        b.prepacking = prepacking;
        b.profilePrefix = profilePrefix;
        b.configEntries.putAll(configEntries);
        b.runListener = runListener;
        b.spinning = spinning;
        b.fixedDimensions.putAll(fixedDimensions);
        return b;
    }

    public ExecutionProvider provider() {
        return provider;
    }

    public Fallback fallback() {
        return fallback;
    }

    /** Threads per op (0: ONNX Runtime's default, one per physical core). */
    public int intraOpThreads() {
        return intraOpThreads;
    }

    public OptimizationLevel optimizationLevel() {
        return optimizationLevel;
    }

    /** Whether ONNX Runtime's CPU memory arena is on (the default; off returns memory sooner, runs slower). */
    public boolean memoryArena() {
        return memoryArena;
    }

    public Prepacking prepacking() {
        return prepacking;
    }

    /** Where ONNX Runtime writes per-op profiles (Chrome trace JSON files starting with this path), if at all. */
    public Optional<Path> profiling() {
        return Optional.ofNullable(profilePrefix);
    }

    /** Session config entries passed to ONNX Runtime as they are ({@code SessionOptions.addConfigEntry}). */
    public Map<String, String> configEntries() {
        return configEntries;
    }

    /**
     * How ONNX Runtime's intra-op threads wait for work ({@link Spinning#DURING_RUN} by default). Measured on the
     * 2-core CI machine, side by side: the bundled model's 28-step image 114 ms with {@link Spinning#DURING_RUN},
     * 129 ms with {@link Spinning#OFF}; a LoRA training step 88 and 100 ms; a full-parameter step 116 and 122 ms.
     * With {@link Spinning#ALWAYS} threads spinning on after a run take the cores from what runs next: the image
     * took 200 ms instead of 155 ms (the model's sessions starve each other), and the full step's AdamW update in
     * Java slowed by a third.
     */
    public Spinning spinning() {
        return spinning;
    }

    /**
     * Symbolic input dimensions fixed to a size (dimension name -> size; empty by default). A session then accepts
     * only inputs of that size, and ONNX Runtime can fold every shape computation that depended on it into a
     * constant: a graph with many run-time reshapes (a training step's backward pass) runs a few milliseconds
     * faster. Make one session per size.
     */
    public Map<String, Long> fixedDimensions() {
        return fixedDimensions;
    }

    /** Hears every run call of the sessions created with these options ({@link OnnxRunListener#NONE} by default). */
    public OnnxRunListener runListener() {
        return runListener;
    }

    public OnnxOptions withProvider(ExecutionProvider provider) {
        return toBuilder().provider(provider).build();
    }

    public OnnxOptions withIntraOpThreads(int threads) {
        return toBuilder().intraOpThreads(threads).build();
    }

    public OnnxOptions withPrepacking(Prepacking prepacking) {
        return toBuilder().prepacking(prepacking).build();
    }

    /** Turns on ONNX Runtime's per-op profiling, written to files starting with {@code prefix}. */
    public OnnxOptions withProfiling(Path prefix) {
        return toBuilder().profiling(prefix).build();
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof OnnxOptions)) {
            return false;
        }
        OnnxOptions x = (OnnxOptions) o;
        return intraOpThreads == x.intraOpThreads && memoryArena == x.memoryArena && provider.equals(x.provider)
                && fallback == x.fallback && optimizationLevel == x.optimizationLevel && prepacking == x.prepacking
                && Objects.equals(profilePrefix, x.profilePrefix) && configEntries.equals(x.configEntries)
                && runListener.equals(x.runListener) && spinning == x.spinning
                && fixedDimensions.equals(x.fixedDimensions);
    }

    @Override
    public int hashCode() {
        return Objects.hash(provider, fallback, intraOpThreads, optimizationLevel, memoryArena, prepacking,
                profilePrefix, configEntries, runListener, spinning, fixedDimensions);
    }

    @Override
    public String toString() {
        return "OnnxOptions[provider=" + provider + (provider.isCpu() ? "" : ", fallback=" + fallback)
                + ", intraOpThreads=" + (intraOpThreads == 0 ? "default" : intraOpThreads)
                + ", optimization=" + optimizationLevel + ", memoryArena=" + memoryArena + ", prepacking=" + prepacking
                + ", spinning=" + spinning
                + (profilePrefix == null ? "" : ", profiling=" + profilePrefix)
                + (fixedDimensions.isEmpty() ? "" : ", fixedDimensions=" + fixedDimensions)
                + (configEntries.isEmpty() ? "" : ", config=" + configEntries) + "]";
    }

    /** Builds {@link OnnxOptions}; every setter validates at once. Not thread-safe. */
    public static final class Builder {
        private ExecutionProvider provider = ExecutionProvider.CPU;
        private Fallback fallback = Fallback.FAIL;
        private int intraOpThreads;
        private OptimizationLevel optimizationLevel = OptimizationLevel.ALL;
        private boolean memoryArena = true;
        private Prepacking prepacking = Prepacking.AUTO;
        private Path profilePrefix;
        private final Map<String, String> configEntries = new LinkedHashMap<>();
        private OnnxRunListener runListener = OnnxRunListener.NONE;
        private Spinning spinning = Spinning.DURING_RUN;
        private final Map<String, Long> fixedDimensions = new LinkedHashMap<>();

        private Builder() {
        }

        public Builder provider(ExecutionProvider provider) {
            this.provider = Checks.notNull(provider, "provider");
            return this;
        }

        /** What to do when the provider is unavailable ({@link Fallback#FAIL} by default). */
        public Builder fallback(Fallback fallback) {
            this.fallback = Checks.notNull(fallback, "fallback");
            return this;
        }

        /** Threads per op; 0 (the default) lets ONNX Runtime use one per physical core. */
        public Builder intraOpThreads(int threads) {
            this.intraOpThreads = Checks.atLeast(threads, 0, "intraOpThreads");
            return this;
        }

        public Builder optimizationLevel(OptimizationLevel level) {
            this.optimizationLevel = Checks.notNull(level, "optimizationLevel");
            return this;
        }

        public Builder memoryArena(boolean on) {
            this.memoryArena = on;
            return this;
        }

        public Builder prepacking(Prepacking prepacking) {
            this.prepacking = Checks.notNull(prepacking, "prepacking");
            return this;
        }

        public Builder profiling(Path prefix) {
            this.profilePrefix = Checks.notNull(prefix, "prefix");
            return this;
        }

        /**
         * A raw ONNX Runtime session config entry (see onnxruntime_session_options_config_keys.h), applied after the
         * typed settings, so it wins over them.
         */
        public Builder configEntry(String key, String value) {
            Checks.notNull(key, "key");
            Checks.notNull(value, "value");
            if (key.isBlank()) {
                throw Checks.fail("key", "non-blank", "'" + key + "'");
            }
            configEntries.put(key, value);
            return this;
        }

        /** How intra-op threads wait for work (see {@link OnnxOptions#spinning()}). */
        public Builder spinning(Spinning spinning) {
            this.spinning = Checks.notNull(spinning, "spinning");
            return this;
        }

        /**
         * Fixes the symbolic input dimension {@code name} (as the graph's inputs name it, e.g. {@code "batch"}) to
         * {@code size}; see {@link OnnxOptions#fixedDimensions()}.
         */
        public Builder fixedDimension(String name, long size) {
            Checks.notNull(name, "name");
            if (name.isBlank()) {
                throw Checks.fail("name", "non-blank", "'" + name + "'");
            }
            if (size < 1) {
                throw Checks.fail("size", ">= 1", size);
            }
            fixedDimensions.put(name, size);
            return this;
        }

        /** A listener told about every run call (e.g. {@link OnnxRunStatistics}); must be thread-safe. */
        public Builder runListener(OnnxRunListener listener) {
            this.runListener = Checks.notNull(listener, "runListener");
            return this;
        }

        public OnnxOptions build() {
            return new OnnxOptions(this);
        }
    }
}
