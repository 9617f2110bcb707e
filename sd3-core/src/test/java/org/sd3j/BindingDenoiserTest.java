package org.sd3j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.guidance.SkipLayerGuidance;
import org.sd3j.model.BindingDenoiser;
import org.sd3j.model.BlockSkippingDenoiser;
import org.sd3j.model.BoundDenoiser;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeDenoiser;

/** The pipeline binds a {@link BindingDenoiser} once per generation and passes the same buffers on every step. */
@Timeout(20)
class BindingDenoiserTest {
    private final ExecutorService executor = Executors.newSingleThreadExecutor();

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    /** v = 0.5 * latents + 0.001 * timestep + mean(context) per item; records what it was given. */
    static class Recording implements BindingDenoiser, BlockSkippingDenoiser {
        final List<Bound> bindings = Collections.synchronizedList(new ArrayList<>());
        volatile CountDownLatch blockUntilAborted;
        volatile CountDownLatch started = new CountDownLatch(1);

        @Override
        public Tensor velocity(Tensor latents, Tensor timesteps, Conditioning c) {
            Tensor out = Tensor.zeros(latents.shape());
            compute(latents, timesteps, c, Set.of(), out);
            return out;
        }

        @Override
        public Tensor velocitySkipping(Tensor latents, Tensor timesteps, Conditioning c, Set<Integer> skipped) {
            Tensor out = Tensor.zeros(latents.shape());
            compute(latents, timesteps, c, skipped, out);
            return out;
        }

        @Override
        public int blockCount() {
            return 4;
        }

        static void compute(Tensor latents, Tensor timesteps, Conditioning c, Set<Integer> skipped, Tensor out) {
            int b = latents.dim(0);
            int per = latents.size() / b;
            int ctx = c.context().size() / b;
            for (int i = 0; i < b; i++) {
                float mean = 0;
                for (int j = 0; j < ctx; j++) {
                    mean += c.context().get(i * ctx + j);
                }
                mean /= ctx;
                float k = skipped.isEmpty() ? 0.5f : 0.25f;
                for (int j = 0; j < per; j++) {
                    out.set(i * per + j, k * latents.get(i * per + j) + 0.001f * timesteps.get(i) + mean);
                }
            }
        }

        @Override
        public BoundDenoiser bind(Conditioning conditioning, Set<Integer> skippedBlocks) {
            Bound b = new Bound(this, conditioning, skippedBlocks);
            bindings.add(b);
            return b;
        }
    }

    static class Bound implements BoundDenoiser {
        final Recording owner;
        final Conditioning conditioning;
        final Set<Integer> skipped;
        final Set<Tensor> outputs = Collections.newSetFromMap(new IdentityHashMap<>());
        final Set<Tensor> inputs = Collections.newSetFromMap(new IdentityHashMap<>());
        volatile boolean aborted;
        int calls;
        int closes;

        Bound(Recording owner, Conditioning conditioning, Set<Integer> skipped) {
            this.owner = owner;
            this.conditioning = conditioning;
            this.skipped = skipped;
        }

        @Override
        public void velocity(Tensor latents, Tensor timesteps, Tensor out) {
            calls++;
            outputs.add(out);
            inputs.add(latents);
            owner.started.countDown();
            CountDownLatch block = owner.blockUntilAborted;
            if (block != null) {
                try {
                    while (!aborted) {
                        block.await(10, TimeUnit.MILLISECONDS);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (aborted) {
                throw new IllegalStateException("terminated");
            }
            Recording.compute(latents, timesteps, conditioning, skipped, out);
        }

        @Override
        public void abort() {
            aborted = true;
        }

        @Override
        public void close() {
            closes++;
        }
    }

    @Test
    void bindsOncePerGenerationAndReusesTheSameBuffersOnEveryStep() {
        Recording d = new Recording();
        Fixtures.pipeline(d).steps(6).guidance(5.0).build().generate(GenerationRequest.builder("a fox").seed(1).build());
        assertThat(d.bindings).hasSize(1);
        Bound b = d.bindings.get(0);
        assertThat(b.calls).isEqualTo(6);
        assertThat(b.outputs).hasSize(1);
        assertThat(b.inputs).hasSize(1);
        assertThat(b.conditioning.context().dim(0)).isEqualTo(2); // [negative, positive]
        assertThat(b.closes).isEqualTo(1);
    }

    @Test
    void givesTheSameLatentsAsPlainVelocityCalls() {
        Recording binding = new Recording();
        FakeDenoiser plain = FakeDenoiser.of(binding::velocity);
        for (double g : new double[] {1.0, 4.5}) {
            GenerationRequest r = GenerationRequest.builder("a fox").seed(3).batchSize(2).guidance(g).build();
            Tensor a = Fixtures.pipeline(binding).steps(5).build().generate(r).latents();
            Tensor b = Fixtures.pipeline(plain).steps(5).build().generate(r).latents();
            assertThat(Fixtures.bitIdentical(a, b)).as("guidance " + g).isTrue();
        }
    }

    @Test
    void sequentialGuidanceRunsTwoHalvesWithTheSameResult() {
        Recording batched = new Recording();
        Recording sequential = new Recording();
        GenerationRequest r = GenerationRequest.builder("a fox").seed(3).batchSize(2).build();
        Tensor a = Fixtures.pipeline(batched).steps(5).guidance(6).build().generate(r).latents();
        Tensor b = Fixtures.pipeline(sequential).steps(5).guidance(6)
                .guidanceBatching(GuidanceBatching.SEQUENTIAL).build().generate(r).latents();
        assertThat(Fixtures.bitIdentical(a, b)).isTrue();
        assertThat(sequential.bindings).hasSize(2);
        assertThat(sequential.bindings).allSatisfy(x -> {
            assertThat(x.conditioning.context().dim(0)).isEqualTo(2); // batch 2, one half each
            assertThat(x.calls).isEqualTo(5);
            assertThat(x.closes).isEqualTo(1);
        });
    }

    @Test
    void skipLayerGuidanceBindsTheSkippingNetworkOnceWhenItIsFirstNeeded() {
        Recording d = new Recording();
        Fixtures.pipeline(d).steps(20).guidance(5.0).skipLayerGuidance(new SkipLayerGuidance(Set.of(1, 2), 2.8, 0.01, 0.2))
                .build().generate(GenerationRequest.builder("a fox").seed(1).build());
        assertThat(d.bindings).hasSize(2);
        Bound skip = d.bindings.get(1);
        assertThat(skip.skipped).containsExactlyInAnyOrder(1, 2);
        assertThat(skip.conditioning.context().dim(0)).isEqualTo(1); // positive only
        assertThat(skip.calls).isBetween(1, 19);
        assertThat(skip.closes).isEqualTo(1);
    }

    @Test
    void cancelAbortsTheCallInFlightAndReportsACancellation() throws Exception {
        Recording d = new Recording();
        d.blockUntilAborted = new CountDownLatch(1);
        Generation g = Fixtures.pipeline(d).steps(4).build().newGeneration(GenerationRequest.of("a fox"));
        Future<GenerationCanceledException> f = executor.submit(
                () -> catchThrowableOfType(GenerationCanceledException.class, g::execute));
        assertThat(d.started.await(5, TimeUnit.SECONDS)).isTrue();
        g.cancel();
        GenerationCanceledException e = f.get(5, TimeUnit.SECONDS);
        assertThat(e).isNotNull().hasMessage("Generation canceled after 0 steps");
        assertThat(e.getSuppressed()).singleElement().satisfies(s -> assertThat(s).hasMessage("terminated"));
        assertThat(d.bindings.get(0).aborted).isTrue();
        assertThat(d.bindings.get(0).closes).isEqualTo(1);
    }

    @Test
    void aFailingBackendIsReportedAndTheBindingClosed() {
        Recording d = new Recording() {
            @Override
            public BoundDenoiser bind(Conditioning conditioning, Set<Integer> skippedBlocks) {
                Bound b = new Bound(this, conditioning, skippedBlocks) {
                    @Override
                    public void velocity(Tensor latents, Tensor timesteps, Tensor out) {
                        throw new IllegalStateException("device lost");
                    }
                };
                bindings.add(b);
                return b;
            }
        };
        assertThatThrownBy(() -> Fixtures.pipeline(d).steps(2).build().generate("a fox"))
                .isInstanceOf(BackendException.class)
                .hasMessageContaining("denoiser.velocity failed")
                .hasMessageContaining("device lost");
        assertThat(d.bindings.get(0).closes).isEqualTo(1);
    }
}
