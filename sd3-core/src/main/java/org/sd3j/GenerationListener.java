package org.sd3j;

/**
 * Progress events of one generation, in this order: {@link #onStart}, {@link #onStep} once per completed
 * sampling step, then exactly one of {@link #onEnd}, {@link #onFailure} or {@link #onCancel}. Every method does
 * nothing by default; override the ones you need.
 *
 * <p>Events arrive on the thread running the generation and block it: keep them short. One listener may serve
 * concurrent generations, so implementations must be thread-safe. An exception thrown from {@code onStart},
 * {@code onStep} or {@code onEnd} fails the generation.
 */
public abstract class GenerationListener {

    /** A listener that ignores every event. */
    public static final GenerationListener NONE = new GenerationListener() {
    };

    /** Before the text encoders run. */
    public void onStart(GenerationStart start) {
    }

    /** After each completed sampling step. */
    public void onStep(StepEvent step) {
    }

    /** After the images are decoded. */
    public void onEnd(GenerationResult result) {
    }

    /** When the generation fails with {@code error}, which is then thrown to the caller. */
    public void onFailure(Throwable error) {
    }

    /** When the generation is canceled after {@code completedSteps} sampling steps. */
    public void onCancel(int completedSteps) {
    }
}
