package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.sd3j.model.Denoiser;
import org.sd3j.model.LatentFormat;
import org.sd3j.model.Vae;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeDenoiser;
import org.sd3j.testing.RecordingListener;

/** A backend that misbehaves gets a {@link BackendException} with a message saying what and where. */
class BackendErrorsTest {

    @Nested
    class DenoiserShape {
        @Test
        void wrongShapeIsRejected() {
            Sd3Pipeline.Builder b = Fixtures.pipeline(FakeDenoiser.of((x, t, c) -> Tensor.zeros(1, 16, 4, 4)))
                    .guidance(1.0);

            assertThatThrownBy(() -> b.generate("a red fox"))
                    .isInstanceOf(BackendException.class)
                    .hasMessage("denoiser.velocity failed: returned Tensor[1, 16, 4, 4] for latents Tensor[1, 16, 8, 8];"
                            + " expected the same shape");
        }

        @Test
        void wrongShapeUnderGuidanceNamesTheDoubledBatch() {
            Sd3Pipeline.Builder b = Fixtures.pipeline(FakeDenoiser.of((x, t, c) -> Tensor.zeros(1, 16, 8, 8)))
                    .guidance(7.0);

            assertThatThrownBy(() -> b.generate("a red fox"))
                    .isInstanceOf(BackendException.class)
                    .hasMessage("denoiser.velocity failed: returned Tensor[1, 16, 8, 8] for latents Tensor[2, 16, 8, 8];"
                            + " expected the same shape");
        }

        @Test
        void sameSizeButOtherShapeIsRejected() {
            Sd3Pipeline.Builder b = Fixtures.pipeline(FakeDenoiser.of((x, t, c) -> Tensor.zeros(1, 16, 64)))
                    .guidance(1.0);

            assertThatThrownBy(() -> b.generate("a red fox"))
                    .isInstanceOf(BackendException.class)
                    .hasMessageContaining("returned Tensor[1, 16, 64] for latents Tensor[1, 16, 8, 8]");
        }

        @Test
        void nullIsRejected() {
            Denoiser denoiser = mock(Denoiser.class);
            when(denoiser.velocity(any(), any(), any())).thenReturn(null);
            Sd3Pipeline.Builder b = Fixtures.pipeline(denoiser).guidance(1.0);

            assertThatThrownBy(() -> b.generate("a red fox"))
                    .isInstanceOf(BackendException.class)
                    .hasMessage("denoiser.velocity failed: returned null for latents Tensor[1, 16, 8, 8];"
                            + " expected the same shape");
        }

        @Test
        void theComponentAndOperationAreNamed() {
            Sd3Pipeline.Builder b = Fixtures.pipeline(FakeDenoiser.of((x, t, c) -> Tensor.zeros(1)));

            assertThatThrownBy(() -> b.generate("a red fox"))
                    .isInstanceOfSatisfying(BackendException.class, e -> {
                        assertThat(e.component()).isEqualTo("denoiser");
                        assertThat(e.operation()).isEqualTo("velocity");
                    });
        }
    }

    @Nested
    class DenoiserValues {
        @Test
        void nanIsRejectedAtTheFirstStep() {
            Sd3Pipeline.Builder b = Fixtures.pipeline(FakeDenoiser.of((x, t, c) -> Tensor.full(Float.NaN, x.shape())))
                    .guidance(1.0);

            assertThatThrownBy(() -> b.generate("a red fox"))
                    .isInstanceOf(BackendException.class)
                    .hasMessage("denoiser.velocity failed: returned non-finite values at step 1 (sigma 1.0) for latents"
                            + " Tensor[1, 16, 8, 8]; check the weights and the precision (fp16 overflow)");
        }

        @Test
        void infinityIsRejectedAtItsStep() {
            FakeDenoiser denoiser = FakeDenoiser.of((x, t, c) -> {
                Tensor v = Tensor.zeros(x.shape());
                if (t.get(0) < 700f) {
                    v.set(5, Float.POSITIVE_INFINITY);
                }
                return v;
            });

            assertThatThrownBy(() -> Fixtures.pipeline(denoiser).guidance(1.0).generate("a red fox"))
                    .isInstanceOf(BackendException.class)
                    .hasMessage("denoiser.velocity failed: returned non-finite values at step 3 (sigma "
                            + org.sd3j.schedule.Schedule.flowMatch().sigmas(4, org.sd3j.schedule.TimeShift.of(3)).get(2)
                            + ") for"
                            + " latents Tensor[1, 16, 8, 8]; check the weights and the precision (fp16 overflow)");
        }

        @Test
        void nanUnderGuidanceIsRejected() {
            FakeDenoiser denoiser = FakeDenoiser.of((x, t, c) -> {
                Tensor v = Tensor.zeros(x.shape());
                v.set(0, Float.NaN);
                return v;
            });

            assertThatThrownBy(() -> Fixtures.pipeline(denoiser).guidance(7.0).generate("a red fox"))
                    .isInstanceOf(BackendException.class)
                    .hasMessageStartingWith("denoiser.velocity failed: returned non-finite values at step 1");
        }

        @Test
        void theListenerIsToldAndNoFurtherCallIsMade() {
            RecordingListener listener = new RecordingListener();
            FakeDenoiser denoiser = FakeDenoiser.of((x, t, c) -> Tensor.full(Float.NaN, x.shape()));

            assertThatThrownBy(() -> Fixtures.pipeline(denoiser).listener(listener).generate("a red fox"))
                    .isInstanceOf(BackendException.class);

            assertThat(listener.events()).containsExactly("start", "failure BackendException");
            assertThat(denoiser.callCount()).isEqualTo(1);
        }
    }

    @Nested
    class VaeDecode {
        @Test
        void wrongShapeIsRejected() {
            Vae vae = mock(Vae.class);
            when(vae.latentFormat()).thenReturn(LatentFormat.SD3);
            when(vae.decode(any())).thenReturn(Tensor.zeros(1, 3, 32, 32));

            assertThatThrownBy(() -> Fixtures.pipeline(FakeDenoiser.zero()).vae(vae).generate("a red fox"))
                    .isInstanceOf(BackendException.class)
                    .hasMessage("vae.decode failed: returned Tensor[1, 3, 32, 32] for latents Tensor[1, 16, 8, 8];"
                            + " expected [1, 3, 64, 64]");
        }

        @Test
        void nullIsRejected() {
            Vae vae = mock(Vae.class);
            when(vae.latentFormat()).thenReturn(LatentFormat.SD3);

            assertThatThrownBy(() -> Fixtures.pipeline(FakeDenoiser.zero()).vae(vae).generate("a red fox"))
                    .isInstanceOf(BackendException.class)
                    .hasMessage("vae.decode failed: returned null for latents Tensor[1, 16, 8, 8];"
                            + " expected [1, 3, 64, 64]");
        }

        @Test
        void aVaeWithoutALatentFormatIsRejectedAtBuild() {
            Vae vae = mock(Vae.class);

            assertThatThrownBy(() -> Fixtures.pipeline(FakeDenoiser.zero()).vae(vae).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("vae.latentFormat() must be non-null, found null");
        }
    }

    @Nested
    class WrappedRuntimeExceptions {
        @Test
        void aTextEncoderFailureNamesItsRole() {
            org.sd3j.model.TextEncoder broken = mock(org.sd3j.model.TextEncoder.class);
            when(broken.role()).thenReturn(org.sd3j.model.EncoderRole.T5);
            when(broken.encode(any())).thenThrow(new IllegalStateException("tokenizer closed"));
            Sd3Pipeline.Builder b = Fixtures.pipeline(FakeDenoiser.of((x, t, c) -> Tensor.zeros(x.shape())))
                    .encoders(broken);

            assertThatThrownBy(() -> b.generate("a red fox"))
                    .isInstanceOf(BackendException.class)
                    .hasMessage("t5xxl.encode failed: java.lang.IllegalStateException: tokenizer closed")
                    .hasCauseInstanceOf(IllegalStateException.class);
        }

        @Test
        void aVaeDecodeFailureIsWrapped() {
            Vae vae = mock(Vae.class);
            when(vae.latentFormat()).thenReturn(LatentFormat.SD3);
            when(vae.decode(any())).thenThrow(new ArithmeticException("overflow"));
            Sd3Pipeline.Builder b = Fixtures.pipeline(FakeDenoiser.of((x, t, c) -> Tensor.zeros(x.shape())))
                    .guidance(1.0).vae(vae);

            assertThatThrownBy(() -> b.generate("a red fox"))
                    .isInstanceOfSatisfying(BackendException.class, e -> {
                        assertThat(e.component()).isEqualTo("vae");
                        assertThat(e.operation()).isEqualTo("decode");
                    })
                    .hasMessage("vae.decode failed: java.lang.ArithmeticException: overflow");
        }

        @Test
        void sd3ExceptionsPassThroughUnwrapped() {
            Sd3Exception original = new Sd3Exception("session closed");
            Sd3Pipeline.Builder b = Fixtures.pipeline(FakeDenoiser.of((x, t, c) -> {
                throw original;
            })).guidance(1.0);

            assertThatThrownBy(() -> b.generate("a red fox")).isSameAs(original);
        }
    }
}
