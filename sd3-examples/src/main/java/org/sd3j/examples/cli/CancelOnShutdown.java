package org.sd3j.examples.cli;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;

import org.sd3j.Generation;

import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ctrl-C (or any JVM shutdown) while a command runs: a shutdown hook cancels the {@link #track tracked}
 * {@link Generation}, which stops before its next denoiser call (or runs another tracked cancel action, such as
 * asking a training run to stop after its step), and then gives the command up to {@link #GRACE} (or the grace
 * given with the action) to finish, close the model and delete temporary files before the JVM halts.
 * {@link #close()} removes the hook. One per command run.
 *
 * <p>Training stops ({@link #trackStop}) catch Ctrl-C and SIGTERM themselves instead of letting the JVM shut down:
 * ONNX Runtime registers its own shutdown hook, which releases its environment while ours waits, and a training step
 * still running then aborts the JVM (a native assertion) before it can checkpoint.
 */
final class CancelOnShutdown implements AutoCloseable {
    static final Duration GRACE = Duration.ofSeconds(3);

    private final Runtime runtime;
    private final Thread hook;
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile Runnable cancel;
    private volatile Duration grace = GRACE;
    private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();
    private final AtomicBoolean signalled = new AtomicBoolean();
    private final BiConsumer<Signal, SignalHandler> passOn;

    private CancelOnShutdown(Runtime runtime, BiConsumer<Signal, SignalHandler> passOn) {
        this.runtime = runtime;
        this.passOn = passOn;
        this.hook = new Thread(this::cancelAndWait, "sd3-cancel-on-shutdown");
    }

    /** Registers the hook with the JVM. */
    static CancelOnShutdown register() {
        return register(CancelOnShutdown::defaultAction);
    }

    /** {@link #register()} with what a signal that is not caught does instead of the JVM's default (tests). */
    static CancelOnShutdown register(BiConsumer<Signal, SignalHandler> passOn) {
        CancelOnShutdown c = new CancelOnShutdown(Runtime.getRuntime(), passOn);
        c.runtime.addShutdownHook(c.hook);
        return c;
    }

    /**
     * Makes {@code stop} what the first Ctrl-C (SIGINT) or SIGTERM runs, instead of shutting the JVM down: the
     * command finishes its step, checkpoints and returns normally. A second signal shuts down as usual; any other
     * shutdown (SIGHUP, {@code System.exit}) runs {@code stop} from the hook and waits at most {@code grace}. Where
     * the JVM does not let signals be caught ({@code -Xrs}), only the hook is there.
     */
    void trackStop(Runnable stop, Duration grace) {
        track(stop, grace);
        synchronized (previous) {
            if (!previous.isEmpty()) {
                return;
            }
            for (String name : List.of("INT", "TERM")) {
                try {
                    Signal signal = new Signal(name);
                    previous.put(signal, Signal.handle(signal, this::onSignal));
                } catch (IllegalArgumentException notCatchable) {
                    // Reserved by the JVM (-Xrs) or unknown here: the shutdown hook still asks the run to stop.
                }
            }
        }
    }

    /** A caught signal (package-private for tests): the first asks the run to stop, the next is passed on. */
    void onSignal(Signal signal) {
        Runnable c = cancel;
        if (c != null && !signalled.getAndSet(true)) {
            c.run();
            return;
        }
        SignalHandler before;
        synchronized (previous) {
            before = previous.get(signal);
            restoreSignals();
        }
        passOn.accept(signal, before);
    }

    private static void defaultAction(Signal signal, SignalHandler before) {
        if (before == null || before == SignalHandler.SIG_DFL || before == SignalHandler.SIG_IGN) {
            Runtime.getRuntime().exit(128 + signal.getNumber());
        } else {
            before.handle(signal); // the JVM's own handler: shut down with 128 + the signal's number
        }
    }

    private void restoreSignals() {
        previous.forEach(Signal::handle);
        previous.clear();
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
        synchronized (previous) {
            restoreSignals();
        }
        try {
            runtime.removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // The hook is running (Ctrl-C): it returns now that the command is finished.
        }
    }
}
