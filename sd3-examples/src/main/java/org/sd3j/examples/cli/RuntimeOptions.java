package org.sd3j.examples.cli;

import org.sd3j.onnx.runtime.ExecutionProvider;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.runtime.ProviderUnavailableException;
import org.sd3j.onnx.runtime.SessionOptionsFactory;

import picocli.CommandLine.Option;

/**
 * Where and how ONNX Runtime runs: {@code --cuda [ID]}, {@code --cuda-fallback}, {@code --threads N},
 * {@code --spinning MODE} (a picocli mixin).
 */
final class RuntimeOptions {
    /** Appended to the library's message when CUDA is unavailable. */
    static final String CLI_HINT = "With the sd3 command: leave out --cuda to run on the CPU, or use --cuda-fallback.";

    @Option(names = "--cuda", arity = "0..1", fallbackValue = "0", parameterConsumer = OptionalCount.class,
            paramLabel = "ID",
            description = "Run on NVIDIA GPU ID (default 0) with CUDA; fails when CUDA is unavailable. Needs the "
                    + "GPU build of ONNX Runtime (see the README, 'Running on CUDA').")
    Integer cuda;

    @Option(names = "--cuda-fallback",
            description = "Like --cuda, but runs on the CPU (after a warning saying why) when CUDA is unavailable.")
    boolean cudaFallback;

    @Option(names = "--threads", paramLabel = "N",
            description = "Threads per operation on the CPU (default: one per physical core).")
    Integer threads;

    @Option(names = "--spinning", paramLabel = "MODE", converter = SpinningConverter.class,
            description = "How ONNX Runtime's threads wait for work: during-run (default: spin between the "
                    + "operations of a run, sleep after it), off or always.")
    OnnxOptions.Spinning spinning;

    /** The options these flags give, before the provider is checked. */
    OnnxOptions onnxOptions() {
        OnnxOptions.Builder b = OnnxOptions.builder();
        if (cuda != null || cudaFallback) {
            b.provider(ExecutionProvider.cuda(cuda == null ? 0 : cuda));
        }
        if (cudaFallback) {
            b.fallback(OnnxOptions.Fallback.CPU);
        }
        if (threads != null) {
            b.intraOpThreads(threads);
        }
        if (spinning != null) {
            b.spinning(spinning);
        }
        return b.build();
    }

    /**
     * The options to load the model with: CUDA is checked once, up front, so an unavailable provider fails with
     * the library's message (or warns once and continues on the CPU with {@code --cuda-fallback}) before any
     * loading starts.
     *
     * @throws org.sd3j.onnx.runtime.ProviderUnavailableException when CUDA is asked for, unavailable, and no
     *                                                            fallback was asked for
     */
    OnnxOptions resolve() {
        try {
            return SessionOptionsFactory.resolve(onnxOptions());
        } catch (ProviderUnavailableException e) {
            throw new ProviderUnavailableException(e.provider(), e.getMessage() + " " + CLI_HINT, e.getCause());
        }
    }

    static final class SpinningConverter extends EnumOption<OnnxOptions.Spinning> {
        SpinningConverter() {
            super(OnnxOptions.Spinning.class);
        }
    }
}
