package org.sd3j.onnx.runtime;

import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;

/**
 * An {@link OnnxRunListener} that adds up run calls and their time: set it on the options a model is loaded with,
 * then read {@link #time()} around a generation to see how much of it ONNX Runtime took. Thread-safe.
 */
public final class OnnxRunStatistics implements OnnxRunListener {
    private final LongAdder calls = new LongAdder();
    private final LongAdder nanos = new LongAdder();

    @Override
    public void onRun(String session, long runNanos) {
        calls.increment();
        nanos.add(runNanos);
    }

    /** Completed run calls so far. */
    public long calls() {
        return calls.sum();
    }

    /** Total wall time inside run calls so far (all threads added up). */
    public Duration time() {
        return Duration.ofNanos(nanos.sum());
    }

    @Override
    public String toString() {
        return "OnnxRunStatistics[calls=" + calls() + ", time=" + time() + "]";
    }
}
