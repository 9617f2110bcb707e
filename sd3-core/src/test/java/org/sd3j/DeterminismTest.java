package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeDenoiser;
import org.sd3j.testing.FakeDenoiser.VelocityField;
import org.sd3j.testing.IdentityVae;

class DeterminismTest {
    /** A velocity that depends on latents, timestep and conditioning, so every input matters. */
    private static final VelocityField FIELD = (x, t, c) -> {
        Tensor v = VelocityField.contextMean().velocity(x, t, c);
        return v.addScaled(x, 0.3f + t.get(0) / 5000f);
    };

    private static Sd3Pipeline.Builder pipeline() {
        return Fixtures.pipeline(FakeDenoiser.of(FIELD)).vae(new IdentityVae()).guidance(4.0).steps(5);
    }

    private static Tensor latents(Sd3Pipeline.Builder b, GenerationRequest request) {
        return b.generate(request).latents();
    }

    @Nested
    class Seeds {
        @ParameterizedTest
        @ValueSource(strings = {"euler", "heun", "dpmpp_2m", "euler_stochastic"})
        void sameSeedGivesBitIdenticalLatents(String sampler) {
            GenerationRequest request = GenerationRequest.builder("a red fox").seed(7).sampler(sampler).build();

            Tensor first = latents(pipeline(), request);
            Tensor second = latents(pipeline(), request);

            assertThat(Fixtures.bitIdentical(first, second)).isTrue();
        }

        @ParameterizedTest
        @ValueSource(strings = {"euler", "euler_stochastic"})
        void differentSeedsGiveDifferentLatents(String sampler) {
            Tensor first = latents(pipeline(), GenerationRequest.builder("a red fox").seed(7).sampler(sampler).build());
            Tensor second = latents(pipeline(), GenerationRequest.builder("a red fox").seed(8).sampler(sampler).build());

            assertThat(first.maxAbsDiff(second)).isGreaterThan(0.1);
        }

        @Test
        void differentPromptsGiveDifferentLatents() {
            Tensor first = latents(pipeline(), GenerationRequest.builder("a red fox").seed(7).build());
            Tensor second = latents(pipeline(), GenerationRequest.builder("a blue fox").seed(7).build());

            assertThat(first.maxAbsDiff(second)).isGreaterThan(0);
        }

        @Test
        void sameSeedGivesIdenticalImages() {
            GenerationRequest request = GenerationRequest.builder("a red fox").seed(7).build();

            GenerationResult first = pipeline().generate(request);
            GenerationResult second = pipeline().generate(request);

            assertThat(first.image().toRgbBytes()).isEqualTo(second.image().toRgbBytes());
        }

        @Test
        void theRequestSeedOverridesThePipelines() {
            Tensor fromPipeline = latents(pipeline().seed(11), GenerationRequest.of("a red fox"));
            Tensor fromRequest = latents(pipeline().seed(99), GenerationRequest.builder("a red fox").seed(11).build());

            assertThat(Fixtures.bitIdentical(fromPipeline, fromRequest)).isTrue();
        }

        @Test
        void negativeSeedsWork() {
            GenerationResult result = pipeline().generate(GenerationRequest.builder("a red fox").seed(-5).build());

            assertThat(result.seed()).isEqualTo(-5);
            assertThat(result.latents().allFinite()).isTrue();
        }
    }

    @Nested
    class Batches {
        @ParameterizedTest
        @ValueSource(strings = {"euler", "euler_stochastic", "dpmpp_2m"})
        void itemIEqualsASingleGenerationWithSeedPlusI(String sampler) {
            Tensor batch = latents(pipeline(),
                    GenerationRequest.builder("a red fox").seed(100).batchSize(3).sampler(sampler).build());

            for (int i = 0; i < 3; i++) {
                Tensor single = latents(pipeline(),
                        GenerationRequest.builder("a red fox").seed(100 + i).sampler(sampler).build());
                assertThat(Fixtures.bitIdentical(batch.slice(i, i + 1), single)).as("item %d", i).isTrue();
            }
        }

        @Test
        void itemIOfAnImg2ImgBatchEqualsASingleGenerationWithSeedPlusI() {
            IdentityVae vae = new IdentityVae(org.sd3j.model.LatentFormat.SD3, -2f);
            GenerationRequest request = GenerationRequest.builder("a red fox").seed(100).batchSize(3)
                    .initImage(Fixtures.blockImage(64, 64), 0.7).build();

            Tensor batch = latents(pipeline().vae(vae), request);

            for (int i = 0; i < 3; i++) {
                Tensor single = latents(pipeline().vae(vae), request.toBuilder().batchSize(1).seed(100 + i).build());
                assertThat(Fixtures.bitIdentical(batch.slice(i, i + 1), single)).as("item %d", i).isTrue();
            }
        }

        @Test
        void itemsDiffer() {
            Tensor batch = latents(pipeline(), GenerationRequest.builder("a red fox").seed(100).batchSize(2).build());

            assertThat(batch.slice(0, 1).maxAbsDiff(batch.slice(1, 2))).isGreaterThan(0.1);
        }

        @Test
        void resultReportsEachItemsSeed() {
            GenerationResult result = pipeline().generate(
                    GenerationRequest.builder("a red fox").seed(100).batchSize(3).build());

            assertThat(result.seed()).isEqualTo(100);
            assertThat(result.seed(2)).isEqualTo(102);
            assertThat(result.parameters(2)).contains("Seed: 102,");
            assertThat(result.batchSize()).isEqualTo(3);
            assertThat(result.images()).hasSize(3);
        }
    }

    @Nested
    class DrawnSeed {
        @Test
        void isReportedAndReproducible() {
            Sd3Pipeline unseeded = Sd3Pipeline.builder().layout(Fixtures.LAYOUT).encoders(Fixtures.t5())
                    .denoiser(FakeDenoiser.of(FIELD)).size(64, 64).steps(3).build();

            GenerationResult drawn = unseeded.generate("a red fox");
            GenerationResult again = unseeded.generate(GenerationRequest.builder("a red fox").seed(drawn.seed()).build());

            assertThat(unseeded.seed()).isEmpty();
            assertThat(Fixtures.bitIdentical(drawn.latents(), again.latents())).isTrue();
        }

        @Test
        void differsBetweenGenerations() {
            Sd3Pipeline unseeded = Sd3Pipeline.builder().denoiser(FakeDenoiser.zero()).size(16, 16).steps(1).build();

            long first = unseeded.generate("x").seed();
            long second = unseeded.generate("x").seed();
            long third = unseeded.generate("x").seed();

            assertThat(List.of(first, second, third)).doesNotHaveDuplicates();
        }
    }

    @Nested
    class InitialNoise {
        @ParameterizedTest
        @ValueSource(longs = {0, 42, 123456789, -1})
        void isTorchRandnOfTheSeed(long seed) {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            Fixtures.pipeline(denoiser).guidance(1.0).steps(2)
                    .generate(GenerationRequest.builder("a red fox").seed(seed).build());

            assertThat(Fixtures.bitIdentical(denoiser.call(0).latents(), Fixtures.torchNoise(seed, 1, 16, 8, 8)))
                    .isTrue();
        }

        @Test
        void isTheSameInBothGuidanceHalves() {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            Fixtures.pipeline(denoiser).guidance(7.0).steps(2).generate("a red fox");

            Tensor seen = denoiser.call(0).latents();
            Tensor noise = Fixtures.torchNoise(42, 1, 16, 8, 8);
            assertThat(Fixtures.bitIdentical(seen.slice(0, 1), noise)).isTrue();
            assertThat(Fixtures.bitIdentical(seen.slice(1, 2), noise)).isTrue();
        }

        @Test
        void ofBatchItemIIsTorchRandnOfSeedPlusI() {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            Fixtures.pipeline(denoiser).guidance(1.0).steps(1)
                    .generate(GenerationRequest.builder("a red fox").seed(5).batchSize(3).build());

            Tensor seen = denoiser.call(0).latents();
            for (int i = 0; i < 3; i++) {
                assertThat(Fixtures.bitIdentical(seen.slice(i, i + 1), Fixtures.torchNoise(5 + i, 1, 16, 8, 8)))
                        .as("item %d", i).isTrue();
            }
        }

        @Test
        void ofANonSquareImageIsTorchRandnOfItsShape() {
            FakeDenoiser denoiser = FakeDenoiser.zero();

            Fixtures.pipeline(denoiser).guidance(1.0).steps(1)
                    .generate(GenerationRequest.builder("a red fox").size(32, 48).build());

            assertThat(Fixtures.bitIdentical(denoiser.call(0).latents(), Fixtures.torchNoise(42, 1, 16, 6, 4))).isTrue();
        }
    }

    @Test
    void concurrentGenerationsMatchSequentialOnes() throws Exception {
        Sd3Pipeline p = pipeline().build();
        List<Tensor> sequential = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            sequential.add(p.generate(GenerationRequest.builder("a red fox").seed(i).build()).latents());
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Tensor>> futures = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                long seed = i;
                Callable<Tensor> task = () -> p.generate(GenerationRequest.builder("a red fox").seed(seed).build())
                        .latents();
                futures.add(pool.submit(task));
            }
            for (int i = 0; i < 4; i++) {
                assertThat(Fixtures.bitIdentical(futures.get(i).get(), sequential.get(i))).as("seed %d", i).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
