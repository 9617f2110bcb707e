package org.sd3j.examples.cli;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.sd3j.Generation;

/**
 * Ctrl-C (or any JVM shutdown) while a command runs: a shutdown hook cancels the {@link #track tracked}
 * {@link Generation}, which stops before its next denoiser call (or runs another tracked cancel action, such as
 * asking a training run to stop after its step), and then gives the command up to {@link #GRACE} (or the grace
 * given with the action) to finish, close the model and delete temporary files before the JVM halts.
 * {@link #close()} removes the hook. One per command run.
 */
final class CancelOnShutdown implements AutoCloseable {
    static final Duration GRACE = Duration.ofSeconds(3);

    private final Runtime runtime;
    private final Thread hook;
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile Runnable cancel;
    private volatile Duration grace = GRACE;

    private CancelOnShutdown(Runtime runtime) {
        this.runtime = runtime;
        this.hook = new Thread(this::cancelAndWait, "sd3-cancel-on-shutdown");
    }

    /** Registers the hook with the JVM. */
    static CancelOnShutdown register() {
        CancelOnShutdown c = new CancelOnShutdown(Runtime.getRuntime());
        c.runtime.addShutdownHook(c.hook);
        return c;
    }

    /** Makes {@code generation} the one a shutdown cancels. */
    void track(Generation generation) {
        track(generation::cancel, GRACE);
    }

    /**
     * Makes {@code action} what a shutdown runs, then waits for the command at most {@code grace}: longer than
     * {@link #GRACE} for work that can only stop at a boundary (a training step and its checkpoint).
     */
    void track(Runnable action, Duration grace) {
        this.grace = grace;
        this.cancel = action;
    }

    /** What the hook does (package-private for tests): cancel, then wait for {@link #close()} at most the grace. */
    void cancelAndWait() {
        Runnable c = cancel;
        if (c != null) {
            c.run();
        }
        try {
            finished.await(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        finished.countDown();
        try {
            runtime.removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // The hook is running (Ctrl-C): it returns now that the command is finished.
        }
    }
}
