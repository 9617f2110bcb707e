package org.sd3j.onnx.model;

import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A text encoder that loads its model for each {@link #encode(List)} call and closes it before returning, so the
 * encoder's sessions and mapped weights are released before the denoiser runs ({@link Sd3Model.Options#lowMemory()}).
 * Costs a load per call (a generation with a negative prompt encodes twice); closing unmaps the checkpoint at once.
 * Calls are serialized. Thread-safe.
 */
final class LoadOnUseEncoder implements TextEncoder {
    private static final Logger LOG = LoggerFactory.getLogger(LoadOnUseEncoder.class);

    private final EncoderRole role;
    private final Supplier<? extends TextEncoder> loader;
    private final Object lock = new Object();

    LoadOnUseEncoder(EncoderRole role, Supplier<? extends TextEncoder> loader) {
        this.role = Objects.requireNonNull(role, "role");
        this.loader = Objects.requireNonNull(loader, "loader");
    }

    @Override
    public EncoderRole role() {
        return role;
    }

    @Override
    public EncodedText encode(List<String> prompts) {
        Objects.requireNonNull(prompts, "prompts");
        synchronized (lock) {
            long start = System.nanoTime();
            TextEncoder encoder = loader.get();
            try {
                return encoder.encode(prompts);
            } finally {
                if (encoder instanceof AutoCloseable c) {
                    try {
                        c.close();
                    } catch (Exception e) {
                        LOG.warn("Closing the {} encoder after use failed: {}", role, e.toString());
                    }
                }
                LOG.debug("{} encoder loaded, ran and closed in {} ms", role, (System.nanoTime() - start) / 1_000_000);
            }
        }
    }

    @Override
    public String toString() {
        return "LoadOnUseEncoder[" + role + "]";
    }
}
