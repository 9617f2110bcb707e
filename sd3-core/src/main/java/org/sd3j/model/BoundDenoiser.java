package org.sd3j.model;

import org.sd3j.tensor.Tensor;

/**
 * A denoiser bound to one generation's conditioning (see {@link BindingDenoiser}): the conditioning is converted
 * and handed to the backend once, and the latents, timesteps and output buffers passed on each step are reused by
 * the backend (e.g. as ONNX Runtime pinned outputs), so sampling allocates nothing per step.
 *
 * <p>Confined to the generating thread, except {@link #abort()}, which any thread may call.
 * Whoever binds closes; {@link #close()} is idempotent.
 */
public interface BoundDenoiser extends AutoCloseable {

    /**
     * One forward pass over the bound conditioning.
     *
     * @param latents   {@code [B, C, H, W]} noisy latents (borrowed; B is the bound conditioning's batch)
     * @param timesteps {@code [B]} timesteps {@code sigma * 1000} (borrowed)
     * @param out       {@code [B, C, H, W]}: receives the velocity; passing the same tensors on every step lets the
     *                  backend keep them bound
     */
    void velocity(Tensor latents, Tensor timesteps, Tensor out);

    /**
     * Aborts a {@link #velocity} call in flight on another thread (it then throws) and every later one. Returns
     * at once; a no-op where the backend cannot abort (the call then ends normally).
     */
    default void abort() {
    }

    @Override
    void close();
}
