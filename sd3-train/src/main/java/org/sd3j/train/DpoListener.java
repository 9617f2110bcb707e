package org.sd3j.train;

/**
 * A {@link TrainingListener} that also hears each Diffusion-DPO step's metrics (after {@link #onStep}). Called on the
 * training thread; keep it quick.
 */
public abstract class DpoListener extends TrainingListener {
    /** After each optimizer step. */
    public void onMetrics(DpoMetrics metrics) {
    }
}
