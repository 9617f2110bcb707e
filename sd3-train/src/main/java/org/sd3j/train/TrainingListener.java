package org.sd3j.train;

/**
 * Hears a training run's progress (OkHttp-style listener: override what you need). Called on the training thread;
 * keep it quick.
 */
public abstract class TrainingListener {
    /** Listens to nothing. */
    public static final TrainingListener NONE = new TrainingListener() {
    };

    /** Before the first step: {@code firstStep} is 0, or the step a resumed run continues from. */
    public void onStart(long firstStep, long totalSteps) {
    }

    /** After each optimizer step. */
    public void onStep(TrainingProgress progress) {
    }

    /** After a checkpoint was written. */
    public void onCheckpoint(long step, java.nio.file.Path file) {
    }

    /**
     * Asked after each step: {@code true} ends the run there, after a checkpoint of that step is written, so that no
     * work is lost and the next run resumes from it (a Ctrl-C handler sets a flag on another thread and returns it
     * here; read it from a volatile or atomic field).
     */
    public boolean stopRequested() {
        return false;
    }
}
