package org.sd3j.schedule;

import org.sd3j.internal.Checks;

/**
 * The flow-matching schedule of diffusers' {@code FlowMatchEulerDiscreteScheduler} and Stability's reference
 * (SPEC §2.1-2.3), reproduced step by step in the same precisions so the values agree bit for bit:
 * <ol>
 *   <li>training grid {@code shift(k/1000)}, k = 1..1000, in float32 (torch); with a dynamic shift the grid
 *       is left unshifted, as diffusers does;</li>
 *   <li>N timesteps {@code linspace(1000*sigma_max, 1000*sigma_min, N)} in float64 (numpy);</li>
 *   <li>divided by 1000 and shifted again (so the last point is shifted twice), cast to float32;</li>
 *   <li>a final 0 appended.</li>
 * </ol>
 * Shift 3, N = 4 gives 1.0, 0.8576924, 0.6021506, 0.0089286, 0.
 */
public final class FlowMatchSchedule implements Schedule {
    static final FlowMatchSchedule INSTANCE = new FlowMatchSchedule();

    private static final int TRAIN_TIMESTEPS = 1000;

    private FlowMatchSchedule() {
    }

    @Override
    public Sigmas sigmas(int steps, TimeShift shift) {
        Checks.atLeast(steps, 1, "steps");
        Checks.notNull(shift, "shift");
        TimeShift gridShift = shift.isDynamic() ? TimeShift.NONE : shift;
        float sigmaMax = gridShift.applyFloat(TRAIN_TIMESTEPS / (float) TRAIN_TIMESTEPS);
        float sigmaMin = gridShift.applyFloat(1f / TRAIN_TIMESTEPS);
        double start = (double) sigmaMax * TRAIN_TIMESTEPS;
        double stop = (double) sigmaMin * TRAIN_TIMESTEPS;

        float[] out = new float[steps + 1];
        double step = steps > 1 ? (stop - start) / (steps - 1) : 0;
        for (int i = 0; i < steps; i++) {
            // numpy.linspace: i*step + start, with the endpoint pinned to stop.
            double t = (steps > 1 && i == steps - 1) ? stop : i * step + start;
            out[i] = (float) shift.apply(t / TRAIN_TIMESTEPS);
        }
        out[steps] = 0f;
        return Sigmas.of(out);
    }

    @Override
    public String name() {
        return "flow_match";
    }

    @Override
    public String toString() {
        return name();
    }
}
