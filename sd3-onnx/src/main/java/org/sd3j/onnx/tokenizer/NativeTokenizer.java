package org.sd3j.onnx.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A DJL tokenizer guarded so that concurrent encodes run in parallel while {@link #close()} waits for them
 * and later calls fail cleanly instead of touching freed native memory.
 */
final class NativeTokenizer implements AutoCloseable {
    private final Path source;
    private final HuggingFaceTokenizer tokenizer;
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;

    NativeTokenizer(Path source, HuggingFaceTokenizer tokenizer) {
        this.source = source;
        this.tokenizer = tokenizer;
    }

    /** Encodes without special tokens, padding or truncation. */
    Encoding encode(String text) {
        Objects.requireNonNull(text, "prompt");
        lock.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException("tokenizer is closed: " + source);
            }
            return tokenizer.encode(text, false, false);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                tokenizer.close();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }
}
