package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.sd3j.Generation;
import org.sd3j.GenerationRequest;
import org.sd3j.Sd3Pipeline;
import org.sd3j.tensor.Tensor;

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
}
