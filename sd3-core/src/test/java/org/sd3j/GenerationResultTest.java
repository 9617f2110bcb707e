package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.image.Image;
import org.sd3j.model.LatentFormat;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeDenoiser;
import org.sd3j.testing.IdentityVae;

class GenerationResultTest {
    private static final String PARAMETERS = "a red fox\nNegative prompt: blurry\n"
            + "Steps: 4, Sampler: euler, CFG scale: 7.0, Seed: 42, Size: 64x64, Shift: 3.0, Model: fake-denoiser";

    private static GenerationResult generate(int batch) {
        return Fixtures.pipeline(FakeDenoiser.zero()).vae(new IdentityVae())
                .generate(GenerationRequest.builder("a red fox").negativePrompt("blurry").batchSize(batch).build());
    }

    @Nested
    class Images {
        @Test
        void oneImagePerBatchItemOfTheRequestedSize() {
            GenerationResult result = generate(2);

            assertThat(result.images()).hasSize(2).allSatisfy(image -> {
                assertThat(image.width()).isEqualTo(64);
                assertThat(image.height()).isEqualTo(64);
            });
            assertThat(result.image()).isSameAs(result.images().get(0));
        }

        @Test
        void areTheVaesDecodingOfTheFinalLatents() {
            // Zero velocity leaves the initial noise; IdentityVae repeats latent channel k (k < 3), in VAE space,
            // over each 8x8 block; the image mapping is round(clamp(x/2 + 0.5, 0, 1) * 255).
            GenerationResult result = generate(1);

            Tensor latents = result.latents();
            for (int y = 0; y < 64; y++) {
                for (int x = 0; x < 64; x++) {
                    int rgb = result.image().rgb(x, y);
                    for (int k = 0; k < 3; k++) {
                        float vae = latents.at(0, k, y / 8, x / 8) / 1.5305f + 0.0609f;
                        int expected = Math.round(Math.min(Math.max(vae / 2f + 0.5f, 0f), 1f) * 255f);
                        int actual = (rgb >> (16 - 8 * k)) & 0xff;
                        assertThat(actual).as("pixel (%d, %d) channel %d", x, y, k).isEqualTo(expected);
                    }
                }
            }
        }

        @Test
        void decodeGetsVaeSpaceLatents() {
            GenerationResult result = generate(1);

            assertThat(result.latents().maxAbsDiff(Fixtures.torchNoise(42, Fixtures.LATENT_SHAPE))).isZero();
            Tensor vaeSpace = LatentFormat.SD3.toVaeSpace(result.latents());
            assertThat(Image.fromTensor(new IdentityVae().decode(vaeSpace), 0).toRgbBytes())
                    .isEqualTo(result.image().toRgbBytes());
        }

        @Test
        void withoutAVaeThereAreNone() {
            GenerationResult result = Fixtures.pipeline(FakeDenoiser.zero()).generate("a red fox");

            assertThat(result.images()).isEmpty();
        }

        @Test
        void imageWithoutAVaeExplainsWhy() {
            GenerationResult result = Fixtures.pipeline(FakeDenoiser.zero()).generate("a red fox");

            assertThatThrownBy(result::image)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("This pipeline has no VAE, so the result holds latents only; add one with"
                            + " Sd3Pipeline.builder().vae(...)");
        }

        @Test
        void theVaeDecodesOncePerGeneration() {
            IdentityVae vae = new IdentityVae();

            Fixtures.pipeline(FakeDenoiser.zero()).vae(vae)
                    .generate(GenerationRequest.builder("a red fox").batchSize(3).build());

            assertThat(vae.decodeCount()).isEqualTo(1);
            assertThat(vae.encodeCount()).isZero();
        }
    }

    @Nested
    class Latents {
        @Test
        void areACopy() {
            GenerationResult result = generate(1);

            result.latents().fill(5f);

            assertThat(result.latents().get(0)).isNotEqualTo(5f);
        }

        @Test
        void haveTheBatchShape() {
            assertThat(generate(2).latents().shape()).containsExactly(2, 16, 8, 8);
        }
    }

    @Nested
    class Parameters {
        @Test
        void areA1111Formatted() {
            assertThat(generate(1).parameters(0)).isEqualTo(PARAMETERS);
        }

        @Test
        void carryEachItemsSeed() {
            assertThat(generate(2).parameters(1)).isEqualTo(PARAMETERS.replace("Seed: 42", "Seed: 43"));
        }

        @Test
        void carryTheResolvedRequestSettings() {
            GenerationResult result = Fixtures.pipeline(FakeDenoiser.zero()).modelName("sd3.5-medium")
                    .generate(GenerationRequest.builder("p").steps(3).guidance(4.5).sampler("heun").shift(2.0)
                            .size(32, 48).seed(9).build());

            assertThat(result.parameters(0)).isEqualTo("p\nSteps: 3, Sampler: heun, CFG scale: 4.5, Seed: 9,"
                    + " Size: 32x48, Shift: 2.0, Model: sd3.5-medium");
        }
    }

    @Nested
    class WritePng {
        @TempDir
        Path dir;

        @Test
        void embedsTheParameters() {
            Path file = dir.resolve("fox.png");

            generate(1).writePng(0, file);

            assertThat(Image.readPngText(file)).containsEntry("parameters", PARAMETERS);
        }

        @Test
        void writesTheImagesPixels() {
            GenerationResult result = generate(2);
            Path file = dir.resolve("fox-1.png");

            result.writePng(1, file);

            assertThat(Image.read(file).toRgbBytes()).isEqualTo(result.images().get(1).toRgbBytes());
            assertThat(Image.readPngText(file).get("parameters")).contains("Seed: 43,");
        }

        @Test
        void rejectsAnIndexOutOfRange() {
            GenerationResult result = generate(1);

            assertThatThrownBy(() -> result.writePng(1, dir.resolve("x.png")))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("index must be in [0, 1), found 1");
            assertThat(dir).isEmptyDirectory();
        }

        @Test
        void withoutAVaeExplainsWhy() {
            GenerationResult result = Fixtures.pipeline(FakeDenoiser.zero()).generate("a red fox");

            assertThatThrownBy(() -> result.writePng(0, dir.resolve("x.png")))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith("This pipeline has no VAE");
        }

        @Test
        void createsAMissingDirectory() {
            Path file = dir.resolve("a/b/fox.png");

            generate(1).writePng(0, file);

            assertThat(Files.isRegularFile(file)).isTrue();
        }
    }

    @Nested
    class Metadata {
        @Test
        void timingsAreConsistent() {
            Timings t = generate(1).timings();

            assertThat(t.encode()).isGreaterThanOrEqualTo(Duration.ZERO);
            assertThat(t.denoise()).isGreaterThanOrEqualTo(Duration.ZERO);
            assertThat(t.decode()).isGreaterThanOrEqualTo(Duration.ZERO);
            assertThat(t.total()).isGreaterThanOrEqualTo(t.encode().plus(t.denoise()).plus(t.decode()));
        }

        @Test
        void seedOfANegativeIndexIsRejected() {
            GenerationResult result = generate(1);

            assertThatThrownBy(() -> result.seed(-1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("index must be in [0, 1), found -1");
        }

        @Test
        void seedOfAnIndexBeyondTheBatchIsRejected() {
            GenerationResult result = generate(2);

            assertThatThrownBy(() -> result.seed(2))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("index must be in [0, 2), found 2");
        }

        @Test
        void parametersOfAnIndexBeyondTheBatchAreRejected() {
            GenerationResult result = generate(1);

            assertThatThrownBy(() -> result.parameters(1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("index must be in [0, 1), found 1");
        }

        @Test
        void toStringSummarizes() {
            assertThat(generate(2).toString()).startsWith("GenerationResult[2 x Tensor[2, 16, 8, 8], seed 42, Timings[");
        }
    }
}
