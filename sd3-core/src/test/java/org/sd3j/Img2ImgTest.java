package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.sd3j.image.Image;
import org.sd3j.model.LatentDistribution;
import org.sd3j.model.LatentFormat;
import org.sd3j.schedule.Schedule;
import org.sd3j.schedule.Sigmas;
import org.sd3j.schedule.TimeShift;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeDenoiser;
import org.sd3j.testing.FakeDenoiser.VelocityField;
import org.sd3j.testing.IdentityVae;
import org.sd3j.testing.RecordingListener;

class Img2ImgTest {
    private static final Image INIT = Fixtures.blockImage(64, 64);

    private static Sd3Pipeline.Builder pipeline(FakeDenoiser denoiser, IdentityVae vae) {
        return Fixtures.pipeline(denoiser).vae(vae).guidance(1.0).steps(28);
    }

    @Nested
    class Strength {
        @Test
        void point6Of28StepsRuns17Steps() {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            pipeline(denoiser, new IdentityVae())
                    .generate(GenerationRequest.builder("a red fox").initImage(INIT, 0.6).build());

            assertThat(denoiser.callCount()).isEqualTo(17);
        }

        @Test
        void point6Of28StepsStartsAtSigma0814325() {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            pipeline(denoiser, new IdentityVae())
                    .generate(GenerationRequest.builder("a red fox").initImage(INIT, 0.6).build());

            float timestep = denoiser.call(0).timestep();
            assertThat((double) timestep).isCloseTo(814.325, within(1e-3));
            assertThat(timestep / 1000.0).isCloseTo(0.814325, within(1e-6));
            assertThat(timestep).isEqualTo(Schedule.flowMatch().sigmas(28, TimeShift.of(3.0)).timestep(11));
        }

        @Test
        void walksTheRestOfTheScheduleInOrder() {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            pipeline(denoiser, new IdentityVae())
                    .generate(GenerationRequest.builder("a red fox").initImage(INIT, 0.6).build());

            Sigmas sigmas = Schedule.flowMatch().sigmas(28, TimeShift.of(3.0));
            for (int i = 0; i < 17; i++) {
                assertThat(denoiser.call(i).timestep()).isEqualTo(sigmas.timestep(11 + i));
            }
        }

        @Test
        void defaultsTo06() {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            pipeline(denoiser, new IdentityVae())
                    .generate(GenerationRequest.builder("a red fox").initImage(INIT).build());

            assertThat(denoiser.callCount()).isEqualTo(17);
            assertThat((double) denoiser.call(0).timestep()).isCloseTo(814.325, within(1e-3));
        }

        @Test
        void oneRunsTheWholeSchedule() {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            pipeline(denoiser, new IdentityVae())
                    .generate(GenerationRequest.builder("a red fox").initImage(INIT, 1.0).build());

            assertThat(denoiser.callCount()).isEqualTo(28);
            assertThat(denoiser.call(0).timestep()).isEqualTo(1000f);
        }

        @Test
        void aTinyStrengthStillRunsTheLastStep() {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            pipeline(denoiser, new IdentityVae()).steps(4)
                    .generate(GenerationRequest.builder("a red fox").initImage(INIT, 0.01).build());

            assertThat(denoiser.callCount()).isEqualTo(1);
            assertThat(denoiser.call(0).timestep()).isEqualTo(Schedule.flowMatch().sigmas(4, TimeShift.of(3.0))
                    .timestep(3));
        }

        @Test
        void listenerSeesTheShortenedRun() {
            RecordingListener listener = new RecordingListener();

            pipeline(FakeDenoiser.zero(), new IdentityVae()).listener(listener)
                    .generate(GenerationRequest.builder("a red fox").initImage(INIT, 0.6).build());

            assertThat(listener.starts().get(0).steps()).isEqualTo(17);
            assertThat(listener.steps()).hasSize(17);
            assertThat(listener.steps().get(0).scheduleIndex()).isEqualTo(11);
            assertThat(listener.steps().get(16).scheduleIndex()).isEqualTo(27);
            assertThat(listener.steps().get(16).step()).isEqualTo(17);
            assertThat(listener.steps().get(16).totalSteps()).isEqualTo(17);
        }
    }

    @Nested
    class InitialLatents {
        @Test
        void areSigmaNoisePlusOneMinusSigmaImageLatents() {
            FakeDenoiser denoiser = FakeDenoiser.zero();
            IdentityVae vae = new IdentityVae();

            pipeline(denoiser, vae).generate(GenerationRequest.builder("a red fox").initImage(INIT, 0.6).build());

            float sigma = Schedule.flowMatch().sigmas(28, TimeShift.of(3.0)).get(11);
            Tensor noise = Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE);
            Tensor z = LatentFormat.SD3.toDenoiserSpace(vae.latentsOf(INIT.toTensor()));
            Tensor expected = Tensor.zeros(Fixtures.LATENT_SHAPE);
            for (int i = 0; i < expected.size(); i++) {
                expected.set(i, sigma * noise.get(i) + (1 - sigma) * z.get(i));
            }
            assertThat(denoiser.call(0).latents().maxAbsDiff(expected)).isLessThan(1e-6);
        }

        @Test
        void useTheVaeSampleInDenoiserSpace() {
            // A wide VAE distribution (logvar 0: std 1) makes the sample's noise visible: z = mean + 1 * eps2,
            // with eps2 the generator's second draw, then (z - shift) * scale.
            FakeDenoiser denoiser = FakeDenoiser.zero();
            IdentityVae vae = new IdentityVae(LatentFormat.SD3, 0f);

            pipeline(denoiser, vae).generate(GenerationRequest.builder("a red fox").initImage(INIT, 0.6).build());

            float sigma = Schedule.flowMatch().sigmas(28, TimeShift.of(3.0)).get(11);
            Tensor noise = Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE);
            LatentDistribution dist = vae.encode(INIT.toTensor());
            Tensor z = LatentFormat.SD3.toDenoiserSpace(dist.sample(Fixtures.secondTorchDraw(42, Fixtures.LATENT_SHAPE)));
            Tensor expected = GenerationRun.renoise(z, noise, sigma);
            assertThat(denoiser.call(0).latents().maxAbsDiff(expected)).isLessThan(1e-6);
        }

        @Test
        void atStrengthOneAreThePureNoise() {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            pipeline(denoiser, new IdentityVae())
                    .generate(GenerationRequest.builder("a red fox").initImage(INIT, 1.0).build());

            assertThat(Fixtures.bitIdentical(denoiser.call(0).latents(),
                    Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE))).isTrue();
        }

        @Test
        void renoiseMixesPerElement() {
            Tensor latents = Tensor.of(new float[] {1f, 2f}, 2);
            Tensor noise = Tensor.of(new float[] {-1f, 4f}, 2);

            Tensor out = GenerationRun.renoise(latents, noise, 0.25f);

            assertThat(out.toArray()).containsExactly(0.25f * -1f + 0.75f * 1f, 0.25f * 4f + 0.75f * 2f);
        }
    }

    @Nested
    class Size {
        @Test
        void isTakenFromTheInitImage() {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            GenerationResult result = pipeline(denoiser, new IdentityVae()).size(1024, 1024).steps(4)
                    .generate(GenerationRequest.builder("a red fox").initImage(Fixtures.blockImage(32, 48)).build());

            assertThat(denoiser.call(0).latents().shape()).containsExactly(1, 16, 6, 4);
            assertThat(result.image().width()).isEqualTo(32);
            assertThat(result.image().height()).isEqualTo(48);
        }

        @Test
        void anInitImageNotAMultipleOf16IsRejected() {
            Sd3Pipeline p = pipeline(FakeDenoiser.zero(), new IdentityVae()).build();

            assertThatThrownBy(() -> p.generate(GenerationRequest.builder("a red fox")
                    .initImage(Fixtures.solid(40, 48, 0)).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("initImage width must be a positive multiple of 16, found 40");
        }

        @Test
        void batchItemsShareTheInitImage() {
            FakeDenoiser denoiser = FakeDenoiser.zero();
            IdentityVae vae = new IdentityVae();

            pipeline(denoiser, vae).steps(4)
                    .generate(GenerationRequest.builder("a red fox").initImage(INIT, 1.0).batchSize(3).build());

            assertThat(vae.encodeCount()).isEqualTo(1);
            assertThat(denoiser.call(0).latents().shape()).containsExactly(3, 16, 8, 8);
        }
    }

    @Nested
    class WithTheVae {
        @Test
        void withoutOneIsAClearError() {
            FakeDenoiser denoiser = FakeDenoiser.zero();
            Sd3Pipeline p = Fixtures.pipeline(denoiser).build();

            assertThatThrownBy(() -> p.generate(GenerationRequest.builder("a red fox").initImage(INIT).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("initImage must be used with a pipeline that has a VAE, found a pipeline without one");
            assertThat(denoiser.callCount()).isZero();
        }

        @Test
        void encodesTheImageInMinusOneToOne() {
            org.sd3j.model.Vae vae = mock(org.sd3j.model.Vae.class);
            when(vae.latentFormat()).thenReturn(LatentFormat.SD3);
            when(vae.encode(any())).thenReturn(new LatentDistribution(Tensor.zeros(Fixtures.LATENT_SHAPE),
                    Tensor.full(-30f, Fixtures.LATENT_SHAPE)));
            when(vae.decode(any())).thenAnswer(inv -> Tensor.zeros(1, 3, 64, 64));

            Fixtures.pipeline(FakeDenoiser.zero()).vae(vae)
                    .generate(GenerationRequest.builder("a red fox").initImage(Fixtures.solid(64, 64, 255)).build());

            verify(vae, times(1)).encode(org.mockito.ArgumentMatchers.argThat(t ->
                    t.hasShape(1, 3, 64, 64) && t.get(0) == 1f && t.get(t.size() - 1) == 1f));
        }

        @Test
        void aWrongLatentShapeIsABackendError() {
            org.sd3j.model.Vae vae = mock(org.sd3j.model.Vae.class);
            when(vae.latentFormat()).thenReturn(LatentFormat.SD3);
            when(vae.encode(any())).thenReturn(new LatentDistribution(Tensor.zeros(1, 16, 4, 4),
                    Tensor.zeros(1, 16, 4, 4)));
            Sd3Pipeline p = Fixtures.pipeline(FakeDenoiser.zero()).vae(vae).build();

            assertThatThrownBy(() -> p.generate(GenerationRequest.builder("a red fox").initImage(INIT).build()))
                    .isInstanceOf(BackendException.class)
                    .hasMessage("vae.encode failed: returned latents Tensor[1, 16, 4, 4] for image Image[64x64];"
                            + " expected [1, 16, 8, 8]");
        }

        @Test
        void aPerfectDenoiserReturnsTheInitImage() {
            // For x_t = sigma*eps + (1-sigma)*z the perfect velocity is eps - z; Euler with it lands on z.
            IdentityVae vae = new IdentityVae();
            Tensor z = LatentFormat.SD3.toDenoiserSpace(vae.latentsOf(INIT.toTensor()));
            Tensor eps = Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE);
            Tensor perfect = eps.copy().addScaled(z, -1f);
            FakeDenoiser denoiser = FakeDenoiser.of((x, t, c) -> perfect.copy());

            GenerationResult result = pipeline(denoiser, vae)
                    .generate(GenerationRequest.builder("a red fox").initImage(INIT, 0.6).build());

            assertThat(result.latents().maxAbsDiff(z)).isLessThan(1e-5);
            for (int y = 0; y < 64; y += 7) {
                for (int x = 0; x < 64; x += 5) {
                    assertThat(result.image().rgb(x, y)).isEqualTo(INIT.rgb(x, y));
                }
            }
        }
    }

    @Test
    void velocityFieldIsUsedForEveryStep() {
        FakeDenoiser denoiser = FakeDenoiser.of(VelocityField.constant(0f));

        pipeline(denoiser, new IdentityVae()).steps(10)
                .generate(GenerationRequest.builder("a red fox").initImage(INIT, 0.5).build());

        assertThat(denoiser.callCount()).isEqualTo(5);
    }
}
