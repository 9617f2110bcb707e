package org.sd3j.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Consumer;

import org.sd3j.GenerationListener;
import org.sd3j.GenerationResult;
import org.sd3j.GenerationStart;
import org.sd3j.StepEvent;
import org.sd3j.tensor.Tensor;

/**
 * A {@link GenerationListener} that records every event in order, both as short strings (easy to assert on)
 * and as the event objects.
 *
 * <p>The strings are:
 * <ul>
 *   <li>{@code "start"} for {@link #onStart},</li>
 *   <li>{@code "step <step>/<total>"} for {@link #onStep}, e.g. {@code "step 1/4"},</li>
 *   <li>{@code "end"} for {@link #onEnd},</li>
 *   <li>{@code "failure <simple class name>"} for {@link #onFailure}, e.g. {@code "failure BackendException"},</li>
 *   <li>{@code "cancel <completed steps>"} for {@link #onCancel}, e.g. {@code "cancel 2"}.</li>
 * </ul>
 *
 * <pre>{@code
 * RecordingListener events = new RecordingListener();
 * Sd3Pipeline.builder().listener(events).steps(2)...generate("a red fox");
 * assertThat(events.events()).containsExactly("start", "step 1/2", "step 2/2", "end");
 * }</pre>
 *
 * <p>{@link StepEvent#latents()} only works during {@code onStep}; {@link #capturingLatents()} makes a listener
 * that copies them then, for {@link #stepLatents()}. A step action (see {@link #withStepAction(Consumer)}) runs
 * after each step is recorded, e.g. to cancel the generation after step k.
 *
 * <p>Thread-safe: one instance may serve concurrent generations (their events interleave).
 */
public class RecordingListener extends GenerationListener {
    private final boolean captureLatents;
    private final Consumer<StepEvent> stepAction;
    private final List<String> events = new ArrayList<>();
    private final List<GenerationStart> starts = new ArrayList<>();
    private final List<StepEvent> steps = new ArrayList<>();
    private final List<Tensor> stepLatents = new ArrayList<>();
    private final List<GenerationResult> results = new ArrayList<>();
    private final List<Throwable> failures = new ArrayList<>();
    private final List<Integer> cancels = new ArrayList<>();

    /** Records events; captures no latents and takes no action. */
    public RecordingListener() {
        this(false, step -> {
        });
    }

    private RecordingListener(boolean captureLatents, Consumer<StepEvent> stepAction) {
        this.captureLatents = captureLatents;
        this.stepAction = stepAction;
    }

    /** A recorder that also copies the latents after each step (see {@link #stepLatents()}). */
    public static RecordingListener capturingLatents() {
        return new RecordingListener(true, step -> {
        });
    }

    /** A recorder that runs {@code action} after recording each step (its exceptions fail the generation). */
    public static RecordingListener withStepAction(Consumer<StepEvent> action) {
        if (action == null) {
            throw new IllegalArgumentException("action must be non-null, found null");
        }
        return new RecordingListener(false, action);
    }

    @Override
    public void onStart(GenerationStart start) {
        synchronized (this) {
            events.add("start");
            starts.add(start);
        }
    }

    @Override
    public void onStep(StepEvent step) {
        Tensor latents = captureLatents ? step.latents() : null;
        synchronized (this) {
            events.add("step " + step.step() + "/" + step.totalSteps());
            steps.add(step);
            if (latents != null) {
                stepLatents.add(latents);
            }
        }
        stepAction.accept(step);
    }

    @Override
    public void onEnd(GenerationResult result) {
        synchronized (this) {
            events.add("end");
            results.add(result);
        }
    }

    @Override
    public void onFailure(Throwable error) {
        synchronized (this) {
            events.add("failure " + error.getClass().getSimpleName());
            failures.add(error);
        }
    }

    @Override
    public void onCancel(int completedSteps) {
        synchronized (this) {
            events.add("cancel " + completedSteps);
            cancels.add(completedSteps);
        }
    }

    /** Every event so far as a string (see the class comment), in order. */
    public synchronized List<String> events() {
        return List.copyOf(events);
    }

    /** The start events, in order. */
    public synchronized List<GenerationStart> starts() {
        return List.copyOf(starts);
    }

    /** The step events, in order. Their {@link StepEvent#latents()} is meaningless after the step. */
    public synchronized List<StepEvent> steps() {
        return List.copyOf(steps);
    }

    /** Copies of the latents after each step, when made by {@link #capturingLatents()}; otherwise empty. */
    public synchronized List<Tensor> stepLatents() {
        return List.copyOf(stepLatents);
    }

    /** The results passed to {@link #onEnd}, in order. */
    public synchronized List<GenerationResult> results() {
        return List.copyOf(results);
    }

    /** The latest failure, if any. */
    public synchronized Optional<Throwable> failure() {
        return failures.isEmpty() ? Optional.empty() : Optional.of(failures.get(failures.size() - 1));
    }

    /** The completed-step count of the latest cancel, if any. */
    public synchronized OptionalInt canceledAfter() {
        return cancels.isEmpty() ? OptionalInt.empty() : OptionalInt.of(cancels.get(cancels.size() - 1));
    }

    /** Forgets everything recorded. */
    public synchronized void reset() {
        events.clear();
        starts.clear();
        steps.clear();
        stepLatents.clear();
        results.clear();
        failures.clear();
        cancels.clear();
    }

    @Override
    public synchronized String toString() {
        return "RecordingListener" + events;
    }
}
