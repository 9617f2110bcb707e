package org.sd3j.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.sd3j.conditioning.Conditioning;
import org.sd3j.model.Denoiser;
import org.sd3j.tensor.Tensor;

/**
 * A {@link Denoiser} for tests: a configurable velocity function that records every call it gets.
 *
 * <pre>{@code
 * FakeDenoiser denoiser = FakeDenoiser.of(VelocityField.scaled(0.5f));   // v = 0.5 * latents
 * Sd3Pipeline.builder().denoiser(denoiser).steps(4).size(64, 64).generate("a red fox");
 * assertThat(denoiser.callCount()).isEqualTo(4);
 * assertThat(denoiser.call(0).latents().shape()).containsExactly(2, 16, 8, 8);  // CFG: [negative, positive]
 * assertThat(denoiser.call(0).timesteps().get(0)).isEqualTo(1000f);
 * }</pre>
 *
 * <p>Each {@link Call} holds copies of the latents and timesteps (the pipeline reuses its input buffers, so
 * keeping references would show only the last values), the context and pooled shapes, and, when
 * {@link Builder#recordConditioning(boolean) recordConditioning} is on, copies of the conditioning tensors
 * (off by default: SD3's context is {@code [2, 333, 4096]} per call). Recording latents can be turned off for
 * large images with {@link Builder#recordLatents(boolean)}.
 *
 * <p>This class does not implement {@link org.sd3j.model.BlockSkippingDenoiser}, so a pipeline asked for
 * skip-layer guidance with it fails to build; {@link FakeBlockSkippingDenoiser} does.
 *
 * <p>Thread-safe when the velocity field is: the call record is synchronized.
 */
public class FakeDenoiser implements Denoiser {

    /**
     * The velocity function of a fake denoiser: same arguments and contract as
     * {@link Denoiser#velocity(Tensor, Tensor, Conditioning)}. It may return a wrong shape or non-finite values on
     * purpose: the fake passes its result through unchecked.
     */
    @FunctionalInterface
    public interface VelocityField {
        /**
         * @param latents      {@code [B, C, h, w]}, borrowed
         * @param timesteps    {@code [B]}, borrowed
         * @param conditioning context {@code [B, S, D]} and pooled {@code [B, P]}, borrowed
         * @return velocity, normally {@code [B, C, h, w]}
         */
        Tensor velocity(Tensor latents, Tensor timesteps, Conditioning conditioning);

        /** {@code v = 0}: every sampler leaves the latents unchanged. */
        static VelocityField zero() {
            return (latents, timesteps, conditioning) -> Tensor.zeros(latents.shape());
        }

        /** {@code v = value} everywhere: Euler over sigmas 1 -> 0 moves every latent by exactly {@code -value}. */
        static VelocityField constant(float value) {
            return (latents, timesteps, conditioning) -> Tensor.full(value, latents.shape());
        }

        /** {@code v = factor * latents}. */
        static VelocityField scaled(float factor) {
            return (latents, timesteps, conditioning) -> latents.copy().scale(factor);
        }

        /**
         * Every element of item {@code b} of the velocity is the mean of item {@code b}'s context
         * {@code [S, D]} (summed in double, cast to float): a velocity that depends on the prompt only, so
         * classifier-free guidance's combination {@code v_neg + g * (v_pos - v_neg)} is easy to predict.
         */
        static VelocityField contextMean() {
            return (latents, timesteps, conditioning) -> {
                Tensor context = conditioning.context();
                int b = latents.dim(0);
                int per = context.size() / context.dim(0);
                Tensor out = Tensor.zeros(latents.shape());
                for (int i = 0; i < b; i++) {
                    out.slice(i, i + 1).fill(mean(context, i * per, per));
                }
                return out;
            };
        }

        /** Mean of {@code count} elements from {@code offset}, summed in double and cast to float. */
        static float mean(Tensor t, int offset, int count) {
            double sum = 0;
            for (int i = 0; i < count; i++) {
                sum += t.get(offset + i);
            }
            return (float) (sum / count);
        }
    }

    /**
     * One recorded call.
     *
     * @param latents       a copy of the latents {@code [B, C, h, w]}, or {@code null} when latents are not recorded
     * @param timesteps     a copy of the timesteps {@code [B]}
     * @param contextShape  shape of the context
     * @param pooledShape   shape of the pooled vector
     * @param conditioning  copies of the context and pooled tensors, or {@code null} when conditioning is not
     *                      recorded
     * @param skippedBlocks the blocks skipped ({@link FakeBlockSkippingDenoiser}); empty for a plain forward
     */
    public record Call(Tensor latents, Tensor timesteps, List<Integer> contextShape, List<Integer> pooledShape,
                       Conditioning conditioning, Set<Integer> skippedBlocks) {

        /** The timestep of batch item 0. */
        public float timestep() {
            return timesteps.get(0);
        }

        /** The batch size of this call. */
        public int batchSize() {
            return timesteps.size();
        }

        /** Whether this call skipped blocks (a skip-layer guidance forward). */
        public boolean skipping() {
            return !skippedBlocks.isEmpty();
        }
    }

    private final VelocityField field;
    private final String name;
    private final boolean recordLatents;
    private final boolean recordConditioning;
    private final List<Call> calls = new ArrayList<>();

    FakeDenoiser(Builder b) {
        this.field = b.field;
        this.name = b.name;
        this.recordLatents = b.recordLatents;
        this.recordConditioning = b.recordConditioning;
    }

    /** A fake with velocity {@code field}, recording latents but not conditioning, named {@code "fake-denoiser"}. */
    public static FakeDenoiser of(VelocityField field) {
        return builder().field(field).build();
    }

    /** A fake whose velocity is 0 everywhere. */
    public static FakeDenoiser zero() {
        return of(VelocityField.zero());
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Records the call, then returns the field's velocity. */
    @Override
    public Tensor velocity(Tensor latents, Tensor timesteps, Conditioning conditioning) {
        record(latents, timesteps, conditioning, Set.of());
        return field.velocity(latents, timesteps, conditioning);
    }

    @Override
    public String name() {
        return name;
    }

    /** Every call so far (including skipping ones), in call order. */
    public List<Call> calls() {
        synchronized (calls) {
            return List.copyOf(calls);
        }
    }

    /** Call {@code index} (0-based). */
    public Call call(int index) {
        synchronized (calls) {
            return calls.get(index);
        }
    }

    /** The latest call. */
    public Call lastCall() {
        synchronized (calls) {
            if (calls.isEmpty()) {
                throw new IllegalStateException("The denoiser has not been called");
            }
            return calls.get(calls.size() - 1);
        }
    }

    /** Number of calls so far (including skipping ones). */
    public int callCount() {
        synchronized (calls) {
            return calls.size();
        }
    }

    /** The timestep of batch item 0 of every call, in call order. */
    public List<Float> timesteps() {
        synchronized (calls) {
            return calls.stream().map(Call::timestep).toList();
        }
    }

    /** Forgets the recorded calls. */
    public void reset() {
        synchronized (calls) {
            calls.clear();
        }
    }

    final void record(Tensor latents, Tensor timesteps, Conditioning conditioning, Set<Integer> skipped) {
        Call call = new Call(recordLatents ? latents.copy() : null, timesteps.copy(),
                shape(conditioning.context()), shape(conditioning.pooled()),
                recordConditioning ? new Conditioning(conditioning.context().copy(), conditioning.pooled().copy())
                        : null,
                Set.copyOf(skipped));
        synchronized (calls) {
            calls.add(call);
        }
    }

    private static List<Integer> shape(Tensor t) {
        return java.util.Arrays.stream(t.shape()).boxed().toList();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + name + ", " + callCount() + " calls]";
    }

    /** Configures a {@link FakeDenoiser} or a {@link FakeBlockSkippingDenoiser}. Not thread-safe. */
    public static final class Builder {
        private VelocityField field = VelocityField.zero();
        private FakeBlockSkippingDenoiser.SkippingField skippingField;
        private String name = "fake-denoiser";
        private boolean recordLatents = true;
        private boolean recordConditioning;
        private int blockCount = 24;

        private Builder() {
        }

        /** The velocity function (default {@link VelocityField#zero()}). */
        public Builder field(VelocityField field) {
            if (field == null) {
                throw new IllegalArgumentException("field must be non-null, found null");
            }
            this.field = field;
            return this;
        }

        /** The model name, as recorded in image metadata (default {@code "fake-denoiser"}). */
        public Builder name(String name) {
            if (name == null) {
                throw new IllegalArgumentException("name must be non-null, found null");
            }
            this.name = name;
            return this;
        }

        /** Whether calls keep a copy of the latents (default true). */
        public Builder recordLatents(boolean recordLatents) {
            this.recordLatents = recordLatents;
            return this;
        }

        /** Whether calls keep copies of the context and pooled tensors (default false). */
        public Builder recordConditioning(boolean recordConditioning) {
            this.recordConditioning = recordConditioning;
            return this;
        }

        /** Block count of a {@link FakeBlockSkippingDenoiser} (default 24, SD3 Medium's). */
        public Builder blockCount(int blockCount) {
            if (blockCount < 1) {
                throw new IllegalArgumentException("blockCount must be >= 1, found " + blockCount);
            }
            this.blockCount = blockCount;
            return this;
        }

        /**
         * The velocity of a {@link FakeBlockSkippingDenoiser} with blocks skipped (default: the plain field's,
         * ignoring the skipped blocks).
         */
        public Builder skippingField(FakeBlockSkippingDenoiser.SkippingField skippingField) {
            if (skippingField == null) {
                throw new IllegalArgumentException("skippingField must be non-null, found null");
            }
            this.skippingField = skippingField;
            return this;
        }

        public FakeDenoiser build() {
            return new FakeDenoiser(this);
        }

        /** A fake that also implements {@link org.sd3j.model.BlockSkippingDenoiser}. */
        public FakeBlockSkippingDenoiser buildBlockSkipping() {
            VelocityField plain = field;
            FakeBlockSkippingDenoiser.SkippingField skipping = skippingField != null ? skippingField
                    : (latents, timesteps, conditioning, blocks) -> plain.velocity(latents, timesteps, conditioning);
            return new FakeBlockSkippingDenoiser(this, blockCount, skipping);
        }
    }
}
