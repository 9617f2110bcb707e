package org.sd3j;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A single-use handle on one generation: {@link #execute()} runs it on the calling thread; {@link #cancel()},
 * from any thread, stops it before the next denoiser call. Interrupting the executing thread cancels it too
 * (the interrupt flag stays set).
 */
public final class Generation {
    private final Sd3Pipeline pipeline;
    private final GenerationRequest request;
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean canceled;

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

    /** Asks the generation to stop; no denoiser call starts after this returns. Idempotent. */
    public void cancel() {
        canceled = true;
    }

    public boolean isCanceled() {
        return canceled;
    }

    /** Throws when canceled or interrupted; called before every denoiser evaluation. */
    void checkCanceled(int completedSteps) {
        if (canceled) {
            throw new GenerationCanceledException("Generation canceled after " + completedSteps + " steps",
                    completedSteps);
        }
        if (Thread.currentThread().isInterrupted()) {
            canceled = true;
            throw new GenerationCanceledException("Generation interrupted after " + completedSteps + " steps",
                    completedSteps);
        }
    }
}
