package org.sd3j.onnx.runtime;

import java.util.Map;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns {@link OnnxOptions} into ONNX Runtime session options, including the execution provider. A provider is
 * known to work only once ONNX Runtime accepted it ({@code getAvailableProviders()} lists CUDA in the GPU artifact
 * even where no GPU or CUDA library exists), so availability is probed by adding it and catching the error.
 * Internal to sd3-onnx: ONNX Runtime types never leave this module.
 */
public final class SessionOptionsFactory {
    private static final Logger LOG = LoggerFactory.getLogger(SessionOptionsFactory.class);

    private SessionOptionsFactory() {
    }

    /**
     * The options to create sessions with: {@code options} itself when its provider can be added, else (with
     * {@link OnnxOptions.Fallback#CPU}) the same options on the CPU after a warning that says why and how to fix it.
     *
     * @throws ProviderUnavailableException when the provider cannot be added and the fallback is
     *                                      {@link OnnxOptions.Fallback#FAIL}
     */
    public static OnnxOptions resolve(OnnxOptions options) {
        if (options.provider().isCpu()) {
            return options;
        }
        try (OrtSession.SessionOptions probe = new OrtSession.SessionOptions()) {
            addProvider(probe, options.provider());
            LOG.info("Execution provider {} is available", options.provider());
            return options;
        } catch (OrtException | RuntimeException e) {
            return unavailable(options, e);
        }
    }

    private static OnnxOptions unavailable(OnnxOptions options, Exception e) {
        ExecutionProvider p = options.provider();
        String why = p.name() + " execution provider (device " + p.deviceId() + ") is unavailable: ONNX Runtime says '"
                + e.getMessage() + "'";
        if (options.fallback() == OnnxOptions.Fallback.FAIL) {
            throw new ProviderUnavailableException(p, why + ". To fix it, " + p.howToFix()
                    + "; or run on the CPU (OnnxOptions.cpu(), or fallback(Fallback.CPU) to continue on the CPU "
                    + "automatically).", e);
        }
        LOG.warn("{}; running on the CPU instead. To use {}, {}.", why, p.name(), p.howToFix());
        return options.withProvider(ExecutionProvider.CPU);
    }

    /**
     * Session options for a graph whose weights total {@code weightBytes}; the caller closes them. An unavailable
     * provider is handled as {@link #resolve} does.
     */
    public static OrtSession.SessionOptions create(OnnxOptions config, long weightBytes) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        try {
            options.setOptimizationLevel(optLevel(config.optimizationLevel()));
            if (!config.prepacking().appliesTo(weightBytes)) {
                options.addConfigEntry("session.disable_prepacking", "1");
            }
            if (config.profiling().isPresent()) {
                options.enableProfiling(config.profiling().get().toString());
            }
            if (config.intraOpThreads() > 0) {
                options.setIntraOpNumThreads(config.intraOpThreads());
            }
            switch (config.spinning()) {
                case OFF:
                    options.addConfigEntry("session.intra_op.allow_spinning", "0");
                    break;
                case DURING_RUN:
                    options.addConfigEntry("session.force_spinning_stop", "1");
                    break;
                default:
                    break;
            }
            if (!config.memoryArena()) {
                options.setCPUArenaAllocator(false);
            }
            for (Map.Entry<String, Long> e : config.fixedDimensions().entrySet()) {
                options.setSymbolicDimensionValue(e.getKey(), e.getValue());
            }
            for (Map.Entry<String, String> e : config.configEntries().entrySet()) {
                options.addConfigEntry(e.getKey(), e.getValue());
            }
            if (!config.provider().isCpu()) {
                try {
                    addProvider(options, config.provider());
                } catch (OrtException | RuntimeException e) {
                    unavailable(config, e); // throws, or warns and leaves the options on the CPU
                }
            }
            return options;
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw e;
        }
    }

    private static OptLevel optLevel(OnnxOptions.OptimizationLevel level) {
        switch (level) {
            case NONE:
                return OptLevel.NO_OPT;
            case BASIC:
                return OptLevel.BASIC_OPT;
            case EXTENDED:
                return OptLevel.EXTENDED_OPT;
            default:
                return OptLevel.ALL_OPT;
        }
    }

    static void addProvider(OrtSession.SessionOptions options, ExecutionProvider p) throws OrtException {
        int id = p.deviceId();
        switch (p.name()) {
            case "CPU":
                return;
            case "CUDA":
                options.addCUDA(id);
                return;
            case "TensorRT":
                options.addTensorrt(id);
                return;
            case "ROCm":
                options.addROCM(id);
                return;
            case "DirectML":
                options.addDirectML(id);
                return;
            case "CoreML":
                options.addCoreML(p.options());
                return;
            case "DNNL":
                options.addDnnl(true);
                return;
            case "OpenVINO":
                options.addOpenVINO(p.options().getOrDefault("device_type", "CPU"));
                return;
            case "XNNPACK":
                options.addXnnpack(p.options());
                return;
            case "QNN":
                options.addQnn(p.options());
                return;
            case "WebGPU":
                options.addWebGPU(p.options());
                return;
            default:
                throw new IllegalStateException("no way to add execution provider " + p.name());
        }
    }
}
