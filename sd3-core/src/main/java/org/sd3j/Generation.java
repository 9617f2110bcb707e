package org.sd3j;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import org.sd3j.model.BoundDenoiser;

/**
 * A single-use handle on one generation: {@link #execute()} runs it on the calling thread; {@link #cancel()},
 * from any thread, stops it: a denoiser call in flight is aborted where the backend can abort one (ONNX Runtime
 * backends do), and no denoiser call starts afterwards. Interrupting the executing thread cancels it too, before
 * the next denoiser call (the interrupt flag stays set).
 */
public final class Generation {
    private final Sd3Pipeline pipeline;
    private final GenerationRequest request;
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean canceled;
    /** Bound denoisers of the running generation, aborted by cancel(). */
    private final CopyOnWriteArrayList<BoundDenoiser> inFlight = new CopyOnWriteArrayList<>();

    Generation(Sd3Pipeline pipeline, GenerationRequest request) {
        this.pipeline = pipeline;
        this.request = request;
    }

    public GenerationRequest request() {
        return request;
    }

    /**
     * Runs the generation.
     *
     * @throws GenerationCanceledException when canceled
     * @throws IllegalStateException       when called a second time
     */
    public GenerationResult execute() {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("A Generation runs once; create another with Sd3Pipeline.newGeneration");
        }
        return new GenerationRun(pipeline, request, this).run();
    }

    /**
     * Asks the generation to stop: aborts the denoiser call in flight (where the backend can) and no denoiser call
     * starts after this returns. Idempotent; returns at once.
     */
    public void cancel() {
        canceled = true;
        for (BoundDenoiser d : inFlight) {
            d.abort();
        }
    }

    void register(BoundDenoiser d) {
        inFlight.add(d);
        if (canceled) {
            d.abort(); // cancel() may have run before the registration
        }
    }

    void unregister(BoundDenoiser d) {
        inFlight.remove(d);
    }

    GenerationCanceledException canceledException(int completedSteps) {
        return new GenerationCanceledException("Generation canceled after " + completedSteps + " steps",
                completedSteps);
    }

    public boolean isCanceled() {
        return canceled;
    }

    /** Throws when canceled or interrupted; called before every denoiser evaluation. */
    void checkCanceled(int completedSteps) {
        if (canceled) {
            throw canceledException(completedSteps);
        }
        if (Thread.currentThread().isInterrupted()) {
            canceled = true;
            throw new GenerationCanceledException("Generation interrupted after " + completedSteps + " steps",
                    completedSteps);
        }
    }
}
