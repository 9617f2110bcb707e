package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import org.sd3j.Generation;
import org.sd3j.GenerationRequest;
import org.sd3j.Sd3Pipeline;
import org.sd3j.tensor.Tensor;

import sun.misc.Signal;
import sun.misc.SignalHandler;

class CancelOnShutdownTest {

    @Test
    void theHookCancelsTheTrackedGenerationAndReturnsOnceTheCommandIsDone() throws Exception {
        Generation g = Sd3Pipeline.builder().denoiser((x, t, c) -> Tensor.zeros(x.shape())).build()
                .newGeneration(GenerationRequest.of("x"));
        try (CancelOnShutdown cancel = CancelOnShutdown.register()) {
            cancel.track(g);
            Thread hook = new Thread(cancel::cancelAndWait);
            hook.start();
            hook.join(200);

            assertThat(g.isCanceled()).isTrue();
            assertThat(hook.isAlive()).as("waits for the command to finish").isTrue();
            cancel.close();
            hook.join(1000);
            assertThat(hook.isAlive()).isFalse();
        }
    }

    @Test
    void aTrackedActionRunsAndTheHookWaitsItsOwnGrace() throws Exception {
        AtomicBoolean stopped = new AtomicBoolean();
        try (CancelOnShutdown cancel = CancelOnShutdown.register()) {
            cancel.track(() -> stopped.set(true), Duration.ofMillis(100));
            Thread hook = new Thread(cancel::cancelAndWait);
            hook.start();
            hook.join(2000);

            assertThat(stopped).isTrue();
            assertThat(hook.isAlive()).as("gave up after the action's grace, not CancelOnShutdown.GRACE").isFalse();
        }
    }

    @Test
    void aTrainingStopCatchesSigtermInsteadOfShuttingDown() throws Exception {
        CountDownLatch stopped = new CountDownLatch(1);
        List<String> passedOn = new CopyOnWriteArrayList<>();
        try (CancelOnShutdown cancel = CancelOnShutdown.register((s, before) -> passedOn.add(s.getName()))) {
            cancel.trackStop(stopped::countDown, Duration.ofMillis(100));

            Signal.raise(new Signal("TERM"));

            assertThat(stopped.await(10, TimeUnit.SECONDS)).as("the stop ran on the signal").isTrue();
            assertThat(passedOn).as("the JVM was not asked to shut down").isEmpty();
        }
    }

    @Test
    void aSecondSignalIsPassedOnToTheHandlerThatWasThere() {
        AtomicInteger stops = new AtomicInteger();
        List<String> passedOn = new CopyOnWriteArrayList<>();
        List<SignalHandler> handlers = new CopyOnWriteArrayList<>();
        try (CancelOnShutdown cancel = CancelOnShutdown.register((s, before) -> {
            passedOn.add(s.getName());
            handlers.add(before);
        })) {
            cancel.trackStop(stops::incrementAndGet, Duration.ofMillis(100));
            Signal interrupt = new Signal("INT");

            cancel.onSignal(interrupt);
            assertThat(stops).hasValue(1);
            assertThat(passedOn).isEmpty();

            cancel.onSignal(interrupt);
            assertThat(stops).as("asked once").hasValue(1);
            assertThat(passedOn).containsExactly("INT");
            assertThat(handlers).hasSize(1).doesNotContainNull();
        }
    }

    @Test
    void aSignalBeforeAnyStopIsTrackedIsPassedOn() {
        List<String> passedOn = new CopyOnWriteArrayList<>();
        try (CancelOnShutdown cancel = CancelOnShutdown.register((s, before) -> passedOn.add(s.getName()))) {
            cancel.onSignal(new Signal("TERM"));

            assertThat(passedOn).containsExactly("TERM");
        }
    }
}
