package org.sd3j.onnx.runtime;

/**
 * Hears about every completed ONNX Runtime run of the sessions created with the {@link OnnxOptions} it is set on
 * (OkHttp's EventListener, for ONNX Runtime calls): for profiling how much of a generation is spent inside ONNX
 * Runtime, counting calls, or exporting metrics. Called on the running thread, right after the call returns, from
 * many threads at once: implementations must be thread-safe and fast.
 */
@FunctionalInterface
public interface OnnxRunListener {
    /** Listens to nothing (the default). */
    OnnxRunListener NONE = (session, nanos) -> { };

    /**
     * @param session the session's name (a graph name or a model file)
     * @param nanos   wall time of the run call
     */
    void onRun(String session, long nanos);
}
