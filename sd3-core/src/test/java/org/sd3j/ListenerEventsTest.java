package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.mockito.InOrder;
import org.sd3j.schedule.Schedule;
import org.sd3j.schedule.Sigmas;
import org.sd3j.schedule.TimeShift;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeDenoiser;
import org.sd3j.testing.FakeDenoiser.VelocityField;
import org.sd3j.testing.RecordingListener;

class ListenerEventsTest {

    @Nested
    class OnSuccess {
        private final RecordingListener listener = RecordingListener.capturingLatents();
        private final GenerationResult result = Fixtures.pipeline(FakeDenoiser.of(VelocityField.scaled(0.5f)))
                .listener(listener).steps(4).generate("a red fox");

        @Test
        void areStartStepsThenEnd() {
            assertThat(listener.events()).containsExactly("start", "step 1/4", "step 2/4", "step 3/4", "step 4/4", "end");
        }

        @Test
        void startHasTheResolvedSettings() {
            assertThat(listener.starts()).containsExactly(new GenerationStart(64, 64, 1, 4, 42, true));
        }

        @Test
        void stepsCountFromOne() {
            assertThat(listener.steps()).extracting(StepEvent::step).containsExactly(1, 2, 3, 4);
            assertThat(listener.steps()).extracting(StepEvent::totalSteps).containsOnly(4);
            assertThat(listener.steps()).extracting(StepEvent::scheduleIndex).containsExactly(0, 1, 2, 3);
        }

        @Test
        void stepsCarryTheirSigmas() {
            Sigmas sigmas = Schedule.flowMatch().sigmas(4, TimeShift.of(3.0));

            for (int i = 0; i < 4; i++) {
                assertThat(listener.steps().get(i).sigma()).isEqualTo(sigmas.get(i));
                assertThat(listener.steps().get(i).nextSigma()).isEqualTo(sigmas.get(i + 1));
            }
            assertThat(listener.steps().get(3).nextSigma()).isZero();
        }

        @Test
        void elapsedTimeNeverDecreases() {
            List<StepEvent> steps = listener.steps();

            for (int i = 1; i < steps.size(); i++) {
                assertThat(steps.get(i).elapsed()).isGreaterThanOrEqualTo(steps.get(i - 1).elapsed());
            }
            assertThat(steps).allSatisfy(s -> assertThat(s.stepDuration()).isGreaterThanOrEqualTo(Duration.ZERO)
                    .isLessThanOrEqualTo(s.elapsed()));
        }

        @Test
        void stepLatentsFollowTheSampler() {
            // v = 0.5 x: each Euler step multiplies x by 1 + 0.5 * (next - sigma).
            Sigmas sigmas = Schedule.flowMatch().sigmas(4, TimeShift.of(3.0));
            Tensor x = Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE);
            for (int i = 0; i < 4; i++) {
                x.addScaled(x.copy().scale(0.5f), sigmas.get(i + 1) - sigmas.get(i));
                assertThat(listener.stepLatents().get(i).maxAbsDiff(x)).as("step %d", i + 1).isZero();
            }
        }

        @Test
        void theLastStepsLatentsAreTheResults() {
            assertThat(Fixtures.bitIdentical(listener.stepLatents().get(3), result.latents())).isTrue();
        }

        @Test
        void endGetsTheReturnedResult() {
            assertThat(listener.results()).containsExactly(result);
        }

        @Test
        void noFailureOrCancel() {
            assertThat(listener.failure()).isEmpty();
            assertThat(listener.canceledAfter()).isEmpty();
        }
    }

    @Test
    void stepLatentsAreACopy() {
        RecordingListener vandal = RecordingListener.withStepAction(step -> step.latents().fill(1000f));
        Sd3Pipeline.Builder b = Fixtures.pipeline(FakeDenoiser.of(VelocityField.scaled(0.5f))).steps(4);

        GenerationResult vandalized = b.listener(vandal).generate("a red fox");
        GenerationResult clean = b.listener(GenerationListener.NONE).generate("a red fox");

        assertThat(Fixtures.bitIdentical(vandalized.latents(), clean.latents())).isTrue();
    }

    @Test
    void stepLatentsHaveTheBatchShape() {
        RecordingListener listener = RecordingListener.capturingLatents();

        Fixtures.pipeline(FakeDenoiser.zero()).listener(listener).steps(2)
                .generate(GenerationRequest.builder("a red fox").batchSize(2).build());

        assertThat(listener.stepLatents().get(0).shape()).containsExactly(2, 16, 8, 8);
    }

    @Test
    void aMockedListenerSeesTheEventsInOrder() {
        GenerationListener listener = mock(GenerationListener.class);

        GenerationResult result = Fixtures.pipeline(FakeDenoiser.zero()).listener(listener).steps(3)
                .generate("a red fox");

        InOrder order = inOrder(listener);
        order.verify(listener).onStart(any());
        order.verify(listener, times(3)).onStep(any());
        order.verify(listener).onEnd(result);
        verify(listener, never()).onFailure(any());
        verify(listener, never()).onCancel(anyInt());
    }

    @Test
    void aListenerServesConcurrentGenerations() throws Exception {
        RecordingListener listener = new RecordingListener();
        Sd3Pipeline p = Fixtures.pipeline(FakeDenoiser.zero()).listener(listener).steps(5).build();
        Thread[] threads = new Thread[4];
        for (int i = 0; i < threads.length; i++) {
            threads[i] = new Thread(() -> p.generate("a red fox"));
            threads[i].start();
        }
        for (Thread t : threads) {
            t.join(10_000);
        }

        assertThat(listener.events()).hasSize(4 * 7);
        assertThat(listener.events()).filteredOn("end"::equals).hasSize(4);
    }

    @Nested
    class OnFailure {
        private final RecordingListener listener = new RecordingListener();
        private final IllegalStateException boom = new IllegalStateException("boom");
        private final FakeDenoiser failing = FakeDenoiser.of((x, t, c) -> {
            throw boom;
        });

        private BackendException run() {
            return catchThrowableOfType(BackendException.class,
                    () -> Fixtures.pipeline(failing).listener(listener).generate("a red fox"));
        }

        @Test
        void aDenoiserExceptionIsWrappedInABackendException() {
            BackendException e = run();

            assertThat(e).hasMessage("denoiser.velocity failed: java.lang.IllegalStateException: boom")
                    .hasCause(boom);
            assertThat(e.getCause()).isSameAs(boom);
            assertThat(e.component()).isEqualTo("denoiser");
            assertThat(e.operation()).isEqualTo("velocity");
        }

        @Test
        void theListenerGetsStartThenFailure() {
            BackendException e = run();

            assertThat(listener.events()).containsExactly("start", "failure BackendException");
            assertThat(listener.failure()).containsSame(e);
        }

        @Test
        void anSd3ExceptionFromTheDenoiserIsNotWrapped() {
            Sd3Exception own = new BackendException("denoiser", "run", "session closed");
            FakeDenoiser d = FakeDenoiser.of((x, t, c) -> {
                throw own;
            });

            Throwable thrown = catchThrowableOfType(Sd3Exception.class,
                    () -> Fixtures.pipeline(d).listener(listener).generate("a red fox"));

            assertThat(thrown).isSameAs(own);
            assertThat(listener.failure()).containsSame(own);
        }

        @Test
        void anErrorFromTheDenoiserPropagatesAndIsReported() {
            AssertionError error = new AssertionError("bad");
            FakeDenoiser d = FakeDenoiser.of((x, t, c) -> {
                throw error;
            });

            Throwable thrown = catchThrowableOfType(AssertionError.class,
                    () -> Fixtures.pipeline(d).listener(listener).generate("a red fox"));

            assertThat(thrown).isSameAs(error);
            assertThat(listener.events()).containsExactly("start", "failure AssertionError");
        }

        @Test
        void aListenerFailingInOnFailureIsSuppressed() {
            IllegalStateException listenerFailure = new IllegalStateException("listener broke");
            GenerationListener broken = new GenerationListener() {
                @Override
                public void onFailure(Throwable error) {
                    throw listenerFailure;
                }
            };

            BackendException e = catchThrowableOfType(BackendException.class,
                    () -> Fixtures.pipeline(failing).listener(broken).generate("a red fox"));

            assertThat(e.getCause()).isSameAs(boom);
            assertThat(e.getSuppressed()).containsExactly(listenerFailure);
        }

        @Test
        void aListenerFailingInOnStepFailsTheGeneration() {
            IllegalStateException stepFailure = new IllegalStateException("preview failed");
            FakeDenoiser denoiser = FakeDenoiser.zero();
            RecordingListener throwing = RecordingListener.withStepAction(step -> {
                throw stepFailure;
            });

            Throwable thrown = catchThrowableOfType(IllegalStateException.class,
                    () -> Fixtures.pipeline(denoiser).listener(throwing).generate("a red fox"));

            assertThat(thrown).isSameAs(stepFailure);
            assertThat(throwing.events()).containsExactly("start", "step 1/4", "failure IllegalStateException");
            assertThat(denoiser.callCount()).isEqualTo(1);
        }

        @Test
        void aListenerFailingInOnEndPropagatesWithoutAnOnFailure() {
            IllegalStateException endFailure = new IllegalStateException("could not save");
            RecordingListener throwing = new RecordingListener() {
                @Override
                public void onEnd(GenerationResult result) {
                    super.onEnd(result);
                    throw endFailure;
                }
            };

            Throwable thrown = catchThrowableOfType(IllegalStateException.class,
                    () -> Fixtures.pipeline(FakeDenoiser.zero()).listener(throwing).steps(1).generate("a red fox"));

            assertThat(thrown).isSameAs(endFailure);
            assertThat(throwing.events()).containsExactly("start", "step 1/1", "end");
        }

        @Test
        void aTextEncoderFailureIsReported() {
            org.sd3j.model.TextEncoder encoder = mock(org.sd3j.model.TextEncoder.class);
            org.mockito.Mockito.when(encoder.role()).thenReturn(org.sd3j.model.EncoderRole.T5);
            org.mockito.Mockito.when(encoder.encode(org.mockito.ArgumentMatchers.anyList()))
                    .thenThrow(new IllegalStateException("tokenizer missing"));

            Throwable thrown = catchThrowableOfType(RuntimeException.class,
                    () -> Fixtures.pipeline(FakeDenoiser.zero()).encoders(encoder).listener(listener)
                            .generate("a red fox"));

            assertThat(thrown).hasMessageContaining("tokenizer missing");
            assertThat(listener.events()).hasSize(2).startsWith("start");
            assertThat(listener.failure()).containsSame(thrown);
        }

        @Test
        void aValidationErrorComesBeforeAnyEvent() {
            Sd3Pipeline p = Fixtures.pipeline(FakeDenoiser.zero()).listener(listener).build();

            catchThrowableOfType(IllegalArgumentException.class,
                    () -> p.generate(GenerationRequest.builder("a").initImage(Fixtures.solid(64, 64, 0)).build()));

            assertThat(listener.events()).isEmpty();
        }
    }
}
