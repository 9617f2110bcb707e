package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeDenoiser;
import org.sd3j.testing.FakeTextEncoder;
import org.sd3j.testing.RecordingListener;

@Timeout(20)
class CancellationTest {
    private final ExecutorService executor = Executors.newSingleThreadExecutor();

    @AfterEach
    void stopExecutor() {
        executor.shutdownNow();
    }

    /** A listener that cancels the generation in {@code handle} after step {@code k}. */
    private static RecordingListener cancelAfter(int k, AtomicReference<Generation> handle) {
        return RecordingListener.withStepAction(step -> {
            if (step.step() == k) {
                handle.get().cancel();
            }
        });
    }

    @Nested
    class FromAListener {
        private final FakeDenoiser denoiser = FakeDenoiser.zero();
        private final AtomicReference<Generation> handle = new AtomicReference<>();
        private final RecordingListener listener = cancelAfter(2, handle);

        private GenerationCanceledException run() {
            Sd3Pipeline p = Fixtures.pipeline(denoiser).listener(listener).steps(5).build();
            handle.set(p.newGeneration(GenerationRequest.of("a red fox")));
            return catchThrowableOfType(GenerationCanceledException.class, () -> handle.get().execute());
        }

        @Test
        void throwsWithTheCompletedSteps() {
            GenerationCanceledException e = run();

            assertThat(e).isNotNull().hasMessage("Generation canceled after 2 steps");
            assertThat(e.completedSteps()).isEqualTo(2);
        }

        @Test
        void makesNoFurtherDenoiserCall() {
            run();

            assertThat(denoiser.callCount()).isEqualTo(2);
        }

        @Test
        void sendsOnCancelInsteadOfOnEnd() {
            run();

            assertThat(listener.events()).containsExactly("start", "step 1/5", "step 2/5", "cancel 2");
            assertThat(listener.canceledAfter()).hasValue(2);
            assertThat(listener.results()).isEmpty();
        }

        @Test
        void marksTheHandleCanceled() {
            run();

            assertThat(handle.get().isCanceled()).isTrue();
        }

        @Test
        void isAnSd3Exception() {
            assertThat(run()).isInstanceOf(Sd3Exception.class);
        }
    }

    @Nested
    class FromAnotherThread {
        @Test
        void stopsBeforeTheNextDenoiserCall() throws Exception {
            CountDownLatch inThirdCall = new CountDownLatch(1);
            CountDownLatch canceled = new CountDownLatch(1);
            AtomicInteger calls = new AtomicInteger();
            FakeDenoiser denoiser = FakeDenoiser.of((x, t, c) -> {
                if (calls.incrementAndGet() == 3) {
                    inThirdCall.countDown();
                    await(canceled);
                }
                return Tensor.zeros(x.shape());
            });
            RecordingListener listener = new RecordingListener();
            Generation generation = Fixtures.pipeline(denoiser).listener(listener).steps(6).build()
                    .newGeneration(GenerationRequest.of("a red fox"));

            Future<GenerationResult> running = executor.submit(generation::execute);
            assertThat(inThirdCall.await(10, TimeUnit.SECONDS)).isTrue();
            generation.cancel();
            canceled.countDown();

            Throwable thrown = catchThrowableOfType(java.util.concurrent.ExecutionException.class,
                    () -> running.get(10, TimeUnit.SECONDS)).getCause();
            assertThat(thrown).isInstanceOf(GenerationCanceledException.class);
            // The third step was already in the denoiser: it completes, then nothing more runs.
            assertThat(((GenerationCanceledException) thrown).completedSteps()).isEqualTo(3);
            assertThat(denoiser.callCount()).isEqualTo(3);
            assertThat(listener.events()).endsWith("step 3/6", "cancel 3").doesNotContain("end");
        }

        @Test
        void stopsBetweenTheTwoCallsOfAHeunStep() throws Exception {
            // Heun calls the denoiser twice per step; a cancel during the first call of step 2 prevents the second.
            CountDownLatch inCall = new CountDownLatch(1);
            CountDownLatch canceled = new CountDownLatch(1);
            AtomicInteger calls = new AtomicInteger();
            FakeDenoiser denoiser = FakeDenoiser.of((x, t, c) -> {
                if (calls.incrementAndGet() == 3) {
                    inCall.countDown();
                    await(canceled);
                }
                return Tensor.zeros(x.shape());
            });
            Generation generation = Fixtures.pipeline(denoiser).sampler("heun").steps(4).build()
                    .newGeneration(GenerationRequest.of("a red fox"));

            Future<GenerationResult> running = executor.submit(generation::execute);
            assertThat(inCall.await(10, TimeUnit.SECONDS)).isTrue();
            generation.cancel();
            canceled.countDown();

            Throwable thrown = catchThrowableOfType(java.util.concurrent.ExecutionException.class,
                    () -> running.get(10, TimeUnit.SECONDS)).getCause();
            assertThat(thrown).isInstanceOf(GenerationCanceledException.class);
            assertThat(((GenerationCanceledException) thrown).completedSteps()).isEqualTo(1);
            assertThat(denoiser.callCount()).isEqualTo(3);
        }
    }

    @Nested
    class ByInterrupt {
        @Test
        void cancelsAndKeepsTheInterruptFlag() throws Exception {
            FakeDenoiser denoiser = FakeDenoiser.zero();
            RecordingListener listener = RecordingListener.withStepAction(step -> {
                if (step.step() == 2) {
                    Thread.currentThread().interrupt();
                }
            });
            Generation generation = Fixtures.pipeline(denoiser).listener(listener).steps(5).build()
                    .newGeneration(GenerationRequest.of("a red fox"));
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicBoolean flagAfter = new AtomicBoolean();

            executor.submit(() -> {
                try {
                    generation.execute();
                } catch (Throwable t) {
                    thrown.set(t);
                }
                flagAfter.set(Thread.currentThread().isInterrupted());
            }).get(10, TimeUnit.SECONDS);

            assertThat(thrown.get()).isInstanceOf(GenerationCanceledException.class)
                    .hasMessage("Generation interrupted after 2 steps");
            assertThat(((GenerationCanceledException) thrown.get()).completedSteps()).isEqualTo(2);
            assertThat(flagAfter).isTrue();
            assertThat(denoiser.callCount()).isEqualTo(2);
            assertThat(generation.isCanceled()).isTrue();
            assertThat(listener.events()).endsWith("cancel 2");
        }

        @Test
        void beforeExecuteCancelsAtOnce() throws Exception {
            FakeDenoiser denoiser = FakeDenoiser.zero();
            Generation generation = Fixtures.pipeline(denoiser).build().newGeneration(GenerationRequest.of("x"));
            AtomicReference<Throwable> thrown = new AtomicReference<>();

            executor.submit(() -> {
                Thread.currentThread().interrupt();
                try {
                    generation.execute();
                } catch (Throwable t) {
                    thrown.set(t);
                }
                Thread.interrupted();
            }).get(10, TimeUnit.SECONDS);

            assertThat(thrown.get()).isInstanceOf(GenerationCanceledException.class)
                    .hasMessage("Generation interrupted after 0 steps");
            assertThat(denoiser.callCount()).isZero();
        }
    }

    @Nested
    class BeforeExecute {
        private final FakeDenoiser denoiser = FakeDenoiser.zero();
        private final FakeTextEncoder encoder = Fixtures.t5();
        private final RecordingListener listener = new RecordingListener();
        private final Generation generation = Fixtures.pipeline(denoiser).encoders(encoder).listener(listener).build()
                .newGeneration(GenerationRequest.of("a red fox"));

        @Test
        void throwsWithZeroCompletedSteps() {
            generation.cancel();

            GenerationCanceledException e = catchThrowableOfType(GenerationCanceledException.class,
                    generation::execute);

            assertThat(e).hasMessage("Generation canceled after 0 steps");
            assertThat(e.completedSteps()).isZero();
        }

        @Test
        void runsNoBackend() {
            generation.cancel();

            assertThatThrownBy(generation::execute).isInstanceOf(GenerationCanceledException.class);

            assertThat(denoiser.callCount()).isZero();
            assertThat(encoder.callCount()).isZero();
        }

        @Test
        void sendsStartThenCancel() {
            generation.cancel();

            assertThatThrownBy(generation::execute).isInstanceOf(GenerationCanceledException.class);

            assertThat(listener.events()).containsExactly("start", "cancel 0");
        }

        @Test
        void cancelIsIdempotent() {
            generation.cancel();
            generation.cancel();

            assertThat(generation.isCanceled()).isTrue();
            assertThatThrownBy(generation::execute).isInstanceOf(GenerationCanceledException.class);
        }

        @Test
        void aFreshHandleIsNotCanceled() {
            assertThat(generation.isCanceled()).isFalse();
        }
    }

    @Nested
    class ExecuteTwice {
        @Test
        void afterSuccessIsAnIllegalState() {
            Generation generation = Fixtures.pipeline(FakeDenoiser.zero()).build()
                    .newGeneration(GenerationRequest.of("a red fox"));
            generation.execute();

            assertThatThrownBy(generation::execute)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("A Generation runs once; create another with Sd3Pipeline.newGeneration");
        }

        @Test
        void afterCancelIsAnIllegalState() {
            Generation generation = Fixtures.pipeline(FakeDenoiser.zero()).build()
                    .newGeneration(GenerationRequest.of("a red fox"));
            generation.cancel();
            assertThatThrownBy(generation::execute).isInstanceOf(GenerationCanceledException.class);

            assertThatThrownBy(generation::execute).isInstanceOf(IllegalStateException.class);
        }

        @Test
        void doesNotCallTheDenoiserAgain() {
            FakeDenoiser denoiser = FakeDenoiser.zero();
            Generation generation = Fixtures.pipeline(denoiser).steps(3).build()
                    .newGeneration(GenerationRequest.of("a red fox"));
            generation.execute();

            assertThatThrownBy(generation::execute).isInstanceOf(IllegalStateException.class);
            assertThat(denoiser.callCount()).isEqualTo(3);
        }

        @Test
        void theHandleKeepsItsRequest() {
            GenerationRequest request = GenerationRequest.of("a red fox");

            Generation generation = Fixtures.pipeline(FakeDenoiser.zero()).build().newGeneration(request);

            assertThat(generation.request()).isSameAs(request);
        }
    }

    @Test
    void aListenerFailingInOnCancelIsSuppressed() {
        AtomicReference<Generation> handle = new AtomicReference<>();
        GenerationListener listener = new GenerationListener() {
            @Override
            public void onCancel(int completedSteps) {
                throw new IllegalStateException("listener broke");
            }
        };
        Sd3Pipeline p = Fixtures.pipeline(FakeDenoiser.zero()).listener(listener).build();
        handle.set(p.newGeneration(GenerationRequest.of("a red fox")));
        handle.get().cancel();

        GenerationCanceledException e = catchThrowableOfType(GenerationCanceledException.class,
                () -> handle.get().execute());

        assertThat(e.getSuppressed()).singleElement().satisfies(s -> assertThat(s).hasMessage("listener broke"));
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
