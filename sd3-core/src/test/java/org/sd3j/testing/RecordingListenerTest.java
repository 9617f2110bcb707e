package org.sd3j.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.junit.jupiter.api.Test;
import org.sd3j.BackendException;
import org.sd3j.GenerationRequest;
import org.sd3j.GenerationStart;
import org.sd3j.Sd3Pipeline;
import org.sd3j.tensor.Tensor;

class RecordingListenerTest {

    private static Sd3Pipeline.Builder pipeline(RecordingListener listener, FakeDenoiser denoiser) {
        return Sd3Pipeline.builder().denoiser(denoiser).listener(listener).size(32, 32).steps(3).seed(1);
    }

    @Test
    void recordsASuccessfulRun() {
        RecordingListener listener = new RecordingListener();

        pipeline(listener, FakeDenoiser.zero()).generate("a red fox");

        assertThat(listener.events()).containsExactly("start", "step 1/3", "step 2/3", "step 3/3", "end");
        assertThat(listener.starts()).containsExactly(new GenerationStart(32, 32, 1, 3, 1, true));
        assertThat(listener.steps()).hasSize(3);
        assertThat(listener.results()).hasSize(1);
        assertThat(listener.stepLatents()).isEmpty();
    }

    @Test
    void recordsAFailure() {
        RecordingListener listener = new RecordingListener();
        FakeDenoiser failing = FakeDenoiser.of((x, t, c) -> Tensor.zeros(1));

        assertThatThrownBy(() -> pipeline(listener, failing).generate("a red fox"))
                .isInstanceOf(BackendException.class);

        assertThat(listener.events()).containsExactly("start", "failure BackendException");
        assertThat(listener.failure()).get().isInstanceOf(BackendException.class);
    }

    @Test
    void recordsACancel() {
        RecordingListener listener = new RecordingListener();
        var generation = pipeline(listener, FakeDenoiser.zero()).build().newGeneration(GenerationRequest.of("x"));
        generation.cancel();

        assertThatThrownBy(generation::execute).isInstanceOf(org.sd3j.GenerationCanceledException.class);

        assertThat(listener.events()).containsExactly("start", "cancel 0");
        assertThat(listener.canceledAfter()).hasValue(0);
    }

    @Test
    void capturesLatentCopiesWhenAsked() {
        RecordingListener listener = RecordingListener.capturingLatents();

        pipeline(listener, FakeDenoiser.zero()).generate("a red fox");

        assertThat(listener.stepLatents()).hasSize(3).allSatisfy(t -> assertThat(t.shape()).containsExactly(1, 16, 4, 4));
        assertThat(listener.stepLatents().get(0)).isNotSameAs(listener.stepLatents().get(1));
    }

    @Test
    void runsTheStepActionAfterRecording() {
        List<String> seenAtAction = new ArrayList<>();
        RecordingListener[] self = new RecordingListener[1];
        self[0] = RecordingListener.withStepAction(step -> seenAtAction.add(self[0].events().get(step.step())));

        pipeline(self[0], FakeDenoiser.zero()).generate("a red fox");

        assertThat(seenAtAction).containsExactly("step 1/3", "step 2/3", "step 3/3");
    }

    @Test
    void resetForgetsEverything() {
        RecordingListener listener = new RecordingListener();
        pipeline(listener, FakeDenoiser.zero()).generate("a red fox");

        listener.reset();

        assertThat(listener.events()).isEmpty();
        assertThat(listener.results()).isEmpty();
        assertThat(listener.failure()).isEmpty();
    }

    @Test
    void isThreadSafe() throws Exception {
        RecordingListener listener = new RecordingListener();
        int threads = 8;
        int perThread = 500;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int j = 0; j < perThread; j++) {
                    listener.onCancel(j);
                }
            });
            t.start();
            workers.add(t);
        }
        start.countDown();
        for (Thread t : workers) {
            t.join(10_000);
        }

        assertThat(listener.events()).hasSize(threads * perThread);
    }

    @Test
    void rejectsANullAction() {
        assertThatThrownBy(() -> RecordingListener.withStepAction(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("action must be non-null, found null");
    }
}
