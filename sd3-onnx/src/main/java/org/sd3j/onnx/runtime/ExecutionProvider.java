package org.sd3j.onnx.runtime;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

import org.sd3j.internal.Checks;

/**
 * Where ONNX Runtime runs a graph: a provider name, a device index and provider options, free of ONNX Runtime
 * types. {@link #CPU} always works; the others need an ONNX Runtime build that has them, e.g. CUDA needs the
 * {@code com.microsoft.onnxruntime:onnxruntime_gpu} artifact instead of {@code onnxruntime} (see the README) and
 * a CUDA/cuDNN installation that matches it. When one is unavailable, {@link OnnxOptions#fallback()} decides
 * between failing and running on the CPU.
 *
 * <p>Immutable and thread-safe; equal when name, device and options are equal.
 */
public final class ExecutionProvider {
    /** ONNX Runtime's CPU provider (MLAS kernels). */
    public static final ExecutionProvider CPU = new ExecutionProvider("CPU", 0, Map.of());

    /** The provider names {@link #named} accepts, as ONNX Runtime spells them in its errors. */
    public static final java.util.List<String> KNOWN = java.util.List.of("CPU", "CUDA", "TensorRT", "ROCm",
            "DirectML", "CoreML", "DNNL", "OpenVINO", "XNNPACK", "QNN", "WebGPU");

    private final String name;
    private final int deviceId;
    private final Map<String, String> options;

    private ExecutionProvider(String name, int deviceId, Map<String, String> options) {
        this.name = name;
        this.deviceId = Checks.atLeast(deviceId, 0, "deviceId");
        this.options = Collections.unmodifiableMap(new LinkedHashMap<>(options));
    }

    /** NVIDIA CUDA on GPU {@code deviceId} (artifact {@code onnxruntime_gpu}). */
    public static ExecutionProvider cuda(int deviceId) {
        return new ExecutionProvider("CUDA", deviceId, Map.of());
    }

    /** NVIDIA TensorRT on GPU {@code deviceId} (artifact {@code onnxruntime_gpu} plus TensorRT). */
    public static ExecutionProvider tensorRt(int deviceId) {
        return new ExecutionProvider("TensorRT", deviceId, Map.of());
    }

    /** AMD ROCm on GPU {@code deviceId} (an ONNX Runtime build with ROCm). */
    public static ExecutionProvider rocm(int deviceId) {
        return new ExecutionProvider("ROCm", deviceId, Map.of());
    }

    /** DirectML on adapter {@code deviceId} (Windows, an ONNX Runtime build with DirectML). */
    public static ExecutionProvider directMl(int deviceId) {
        return new ExecutionProvider("DirectML", deviceId, Map.of());
    }

    /**
     * Any provider ONNX Runtime knows by name ({@link #KNOWN}, case-insensitive), with the provider's own options
     * (for CoreML, XNNPACK, QNN and WebGPU; OpenVINO takes {@code device_type}).
     *
     * @throws IllegalArgumentException for a name that is not in {@link #KNOWN}
     */
    public static ExecutionProvider named(String name, int deviceId, Map<String, String> options) {
        Checks.notNull(name, "name");
        Checks.notNull(options, "options");
        String canonical = KNOWN.stream().filter(k -> k.equalsIgnoreCase(name)).findFirst()
                .orElseThrow(() -> Checks.fail("provider name", "one of " + KNOWN, name));
        return new ExecutionProvider(canonical, deviceId, options);
    }

    /** The provider's name as ONNX Runtime spells it, e.g. {@code CUDA}. */
    public String name() {
        return name;
    }

    /** The device (GPU, adapter) index; 0 where the provider has none. */
    public int deviceId() {
        return deviceId;
    }

    /** Provider-specific options, e.g. XNNPACK's {@code intra_op_num_threads}. */
    public Map<String, String> options() {
        return options;
    }

    public boolean isCpu() {
        return "CPU".equals(name);
    }

    /** What a user can do when this provider is unavailable. */
    String howToFix() {
        switch (name.toUpperCase(Locale.ROOT)) {
            case "CUDA":
            case "TENSORRT":
                return "use the GPU build of ONNX Runtime: replace com.microsoft.onnxruntime:onnxruntime with "
                        + "com.microsoft.onnxruntime:onnxruntime_gpu (same version; see README, 'Running on CUDA'), "
                        + "install the CUDA 12 and cuDNN 9 libraries it links against and make them visible "
                        + "(LD_LIBRARY_PATH / PATH), check that GPU " + deviceId + " exists (nvidia-smi)";
            default:
                return "use an ONNX Runtime build that includes the " + name + " execution provider";
        }
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof ExecutionProvider)) {
            return false;
        }
        ExecutionProvider p = (ExecutionProvider) o;
        return deviceId == p.deviceId && name.equals(p.name) && options.equals(p.options);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, deviceId, options);
    }

    @Override
    public String toString() {
        return isCpu() ? name : name + ":" + deviceId + (options.isEmpty() ? "" : " " + options);
    }
}
