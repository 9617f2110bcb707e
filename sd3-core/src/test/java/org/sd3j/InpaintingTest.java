package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.sd3j.image.Image;
import org.sd3j.model.LatentFormat;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeDenoiser;
import org.sd3j.testing.FakeDenoiser.VelocityField;
import org.sd3j.testing.IdentityVae;

class InpaintingTest {
    private static final Image INIT = Fixtures.blockImage(64, 64);
    /** White (repaint) in pixel columns 0-31, i.e. latent columns 0-3; black (keep) in latent columns 4-7. */
    private static final Image MASK = Fixtures.leftMask(64, 64, 32);

    private static GenerationResult inpaint(FakeDenoiser denoiser, IdentityVae vae, int batch) {
        return Fixtures.pipeline(denoiser).vae(vae).guidance(1.0).steps(6)
                .generate(GenerationRequest.builder("a red fox").initImage(INIT).mask(MASK).batchSize(batch).build());
    }

    /** The image latents the pipeline blends back: the VAE sample with the generator's second draw. */
    private static Tensor imageLatents(IdentityVae vae, long seed) {
        return LatentFormat.SD3.toDenoiserSpace(vae.encode(INIT.toTensor())
                .sample(Fixtures.secondTorchDraw(seed, Fixtures.LATENT_SHAPE)));
    }

    @Nested
    class KnownRegion {
        @Test
        void endsEqualToTheInitImagesLatents() {
            IdentityVae vae = new IdentityVae();

            Tensor latents = inpaint(FakeDenoiser.of(VelocityField.constant(0.7f)), vae, 1).latents();

            Tensor z = imageLatents(vae, 42);
            for (int c = 0; c < 16; c++) {
                for (int y = 0; y < 8; y++) {
                    for (int x = 4; x < 8; x++) {
                        assertThat(latents.at(0, c, y, x)).isCloseTo(z.at(0, c, y, x), within(1e-6f));
                    }
                }
            }
        }

        @Test
        void endsWithinTheVaeNoiseOfTheMean() {
            IdentityVae vae = new IdentityVae();

            Tensor latents = inpaint(FakeDenoiser.of(VelocityField.constant(0.7f)), vae, 1).latents();

            Tensor mean = LatentFormat.SD3.toDenoiserSpace(vae.latentsOf(INIT.toTensor()));
            for (int c = 0; c < 16; c++) {
                for (int y = 0; y < 8; y++) {
                    for (int x = 4; x < 8; x++) {
                        assertThat(latents.at(0, c, y, x)).isCloseTo(mean.at(0, c, y, x), within(1e-5f));
                    }
                }
            }
        }

        @Test
        void decodesToTheInitImagesPixels() {
            GenerationResult result = inpaint(FakeDenoiser.of(VelocityField.constant(0.7f)), new IdentityVae(), 1);

            for (int y = 0; y < 64; y++) {
                for (int x = 32; x < 64; x++) {
                    assertThat(result.image().rgb(x, y)).as("pixel (%d, %d)", x, y).isEqualTo(INIT.rgb(x, y));
                }
            }
        }

        @Test
        void isKeptForEveryBatchItem() {
            IdentityVae vae = new IdentityVae();

            Tensor latents = inpaint(FakeDenoiser.of(VelocityField.constant(0.7f)), vae, 2).latents();

            Tensor z1 = imageLatents(vae, 43);
            assertThat(latents.at(1, 3, 2, 6)).isCloseTo(z1.at(0, 3, 2, 6), within(1e-6f));
        }

        @Test
        void isReNoisedToEachStepsLevelBeforeTheNextCall() {
            // After step i the known region is sigma_{i+1} * noise + (1 - sigma_{i+1}) * z, which the next call sees.
            IdentityVae vae = new IdentityVae();
            FakeDenoiser denoiser = FakeDenoiser.of(VelocityField.constant(0.7f));

            inpaint(denoiser, vae, 1);

            Tensor z = imageLatents(vae, 42);
            Tensor noise = Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE);
            float sigma = denoiser.call(3).timestep() / 1000f;
            Tensor seen = denoiser.call(3).latents();
            int i = seen.flatIndex(0, 5, 1, 7);
            assertThat(seen.get(i)).isCloseTo(sigma * noise.get(i) + (1 - sigma) * z.get(i), within(1e-5f));
        }
    }

    @Nested
    class MaskedRegion {
        @Test
        void isRepainted() {
            IdentityVae vae = new IdentityVae();

            Tensor latents = inpaint(FakeDenoiser.of(VelocityField.constant(0.7f)), vae, 1).latents();

            // Default inpainting strength is 1: from pure noise, a constant velocity 0.7 moves it by -0.7.
            Tensor noise = Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE);
            Tensor z = imageLatents(vae, 42);
            for (int c = 0; c < 16; c++) {
                for (int y = 0; y < 8; y++) {
                    for (int x = 0; x < 4; x++) {
                        assertThat(latents.at(0, c, y, x)).isCloseTo(noise.at(0, c, y, x) - 0.7f, within(1e-5f));
                        assertThat(Math.abs(latents.at(0, c, y, x) - z.at(0, c, y, x))).isGreaterThan(1e-4f);
                    }
                }
            }
        }

        @Test
        void startsFromPureNoiseAtTheDefaultStrength() {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            inpaint(denoiser, new IdentityVae(), 1);

            assertThat(denoiser.callCount()).isEqualTo(6);
            assertThat(denoiser.call(0).timestep()).isEqualTo(1000f);
        }
    }

    @Nested
    class MaskDownsampling {
        @Test
        void averagesEachLatentCell() {
            // 16x16 pixels -> 2x2 cells of 8x8: full white, left half white, black, one white pixel.
            Tensor pixels = Tensor.zeros(16, 16);
            for (int y = 0; y < 8; y++) {
                for (int x = 0; x < 8; x++) {
                    pixels.set(y * 16 + x, 1f);
                }
                for (int x = 8; x < 12; x++) {
                    pixels.set(y * 16 + x, 1f);
                }
            }
            pixels.set(15 * 16 + 15, 1f);

            Tensor cells = GenerationRun.downsampleMask(pixels, new int[] {1, 16, 2, 2});

            assertThat(cells.shape()).containsExactly(2, 2);
            assertThat(cells.toArray()).containsExactly(1f, 0.5f, 0f, 1f / 64);
        }

        @Test
        void aBlockAlignedMaskGivesOnlyZerosAndOnes() {
            Tensor cells = GenerationRun.downsampleMask(MASK.toGray(), new int[] {1, 16, 8, 8});

            for (int y = 0; y < 8; y++) {
                for (int x = 0; x < 8; x++) {
                    assertThat(cells.at(y, x)).isEqualTo(x < 4 ? 1f : 0f);
                }
            }
        }

        @Test
        void grayLevelsBecomeFractions() {
            Tensor cells = GenerationRun.downsampleMask(Fixtures.solid(16, 16, 51).toGray(), new int[] {1, 16, 2, 2});

            for (float v : cells.toArray()) {
                assertThat(v).isCloseTo(0.2f, within(1e-6f));
            }
        }

        @Test
        void aHalfMaskedCellBlendsHalfAndHalf() {
            // Mask columns 0-3 white: latent column 0 is half repainted, half kept.
            IdentityVae vae = new IdentityVae();
            Tensor latents = Fixtures.pipeline(FakeDenoiser.of(VelocityField.constant(0.7f))).vae(vae).guidance(1.0)
                    .steps(6).generate(GenerationRequest.builder("a red fox").initImage(INIT)
                            .mask(Fixtures.leftMask(64, 64, 4)).build()).latents();

            Tensor z = imageLatents(vae, 42);
            Tensor noise = Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE);
            // The final blend (sigma 0) gives 0.5 * x + 0.5 * z for whatever x the last step produced; the cell
            // is neither the image nor the repainted value.
            int i = latents.flatIndex(0, 0, 0, 0);
            assertThat(Math.abs(latents.get(i) - z.get(i))).isGreaterThan(1e-4f);
            assertThat(Math.abs(latents.get(i) - (noise.get(i) - 0.7f))).isGreaterThan(1e-4f);
            assertThat(latents.at(0, 0, 0, 1)).isCloseTo(z.at(0, 0, 0, 1), within(1e-6f));
        }
    }
}
