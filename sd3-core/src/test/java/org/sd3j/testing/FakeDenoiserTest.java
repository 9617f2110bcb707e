package org.sd3j.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;

import org.junit.jupiter.api.Test;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.model.BlockSkippingDenoiser;
import org.sd3j.tensor.Tensor;
import org.sd3j.testing.FakeDenoiser.VelocityField;

class FakeDenoiserTest {
    private static final Conditioning CONDITIONING = new Conditioning(Tensor.full(2f, 2, 3, 4),
            Tensor.full(1f, 2, 5));

    private static Tensor latents() {
        return Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 2, 1, 2, 2);
    }

    @Test
    void zeroReturnsZerosOfTheLatentShape() {
        Tensor v = FakeDenoiser.zero().velocity(latents(), Tensor.full(1000f, 2), CONDITIONING);

        assertThat(v.shape()).containsExactly(2, 1, 2, 2);
        assertThat(v.toArray()).containsOnly(0f);
    }

    @Test
    void constantAndScaledFields() {
        Tensor x = latents();

        assertThat(VelocityField.constant(3f).velocity(x, Tensor.zeros(2), CONDITIONING).toArray()).containsOnly(3f);
        assertThat(VelocityField.scaled(0.5f).velocity(x, Tensor.zeros(2), CONDITIONING).toArray())
                .containsExactly(0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f, 4);
    }

    @Test
    void contextMeanFillsEachItemWithItsContextsMean() {
        Tensor context = Tensor.concat(0, Tensor.full(2f, 1, 3, 4), Tensor.full(-1f, 1, 3, 4));

        Tensor v = VelocityField.contextMean().velocity(latents(), Tensor.zeros(2),
                new Conditioning(context, Tensor.zeros(2, 1)));

        assertThat(v.toArray()).containsExactly(2, 2, 2, 2, -1, -1, -1, -1);
    }

    @Test
    void recordsCopiesOfTheInputs() {
        FakeDenoiser d = FakeDenoiser.zero();
        Tensor x = latents();
        Tensor t = Tensor.full(500f, 2);

        d.velocity(x, t, CONDITIONING);
        x.fill(-1f);
        t.fill(-1f);

        FakeDenoiser.Call call = d.call(0);
        assertThat(call.latents().toArray()).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
        assertThat(call.timesteps().toArray()).containsExactly(500f, 500f);
        assertThat(call.timestep()).isEqualTo(500f);
        assertThat(call.batchSize()).isEqualTo(2);
        assertThat(call.contextShape()).containsExactly(2, 3, 4);
        assertThat(call.pooledShape()).containsExactly(2, 5);
        assertThat(call.conditioning()).isNull();
        assertThat(call.skipping()).isFalse();
    }

    @Test
    void recordsConditioningWhenAsked() {
        FakeDenoiser d = FakeDenoiser.builder().recordConditioning(true).build();

        d.velocity(latents(), Tensor.zeros(2), CONDITIONING);

        assertThat(d.lastCall().conditioning().context().toArray()).containsOnly(2f);
        assertThat(d.lastCall().conditioning().context()).isNotSameAs(CONDITIONING.context());
    }

    @Test
    void canSkipRecordingLatents() {
        FakeDenoiser d = FakeDenoiser.builder().recordLatents(false).build();

        d.velocity(latents(), Tensor.zeros(2), CONDITIONING);

        assertThat(d.lastCall().latents()).isNull();
    }

    @Test
    void countsAndListsCallsInOrder() {
        FakeDenoiser d = FakeDenoiser.zero();

        d.velocity(latents(), Tensor.full(1000f, 2), CONDITIONING);
        d.velocity(latents(), Tensor.full(250f, 2), CONDITIONING);

        assertThat(d.callCount()).isEqualTo(2);
        assertThat(d.timesteps()).containsExactly(1000f, 250f);
        assertThat(d.calls()).hasSize(2);
    }

    @Test
    void resetForgetsTheCalls() {
        FakeDenoiser d = FakeDenoiser.zero();
        d.velocity(latents(), Tensor.zeros(2), CONDITIONING);

        d.reset();

        assertThat(d.callCount()).isZero();
        assertThatThrownBy(d::lastCall).isInstanceOf(IllegalStateException.class)
                .hasMessage("The denoiser has not been called");
    }

    @Test
    void hasAConfigurableName() {
        assertThat(FakeDenoiser.zero().name()).isEqualTo("fake-denoiser");
        assertThat(FakeDenoiser.builder().name("mmdit").build().name()).isEqualTo("mmdit");
    }

    @Test
    void aPlainFakeCannotSkipBlocks() {
        assertThat(FakeDenoiser.zero()).isNotInstanceOf(BlockSkippingDenoiser.class);
    }

    @Test
    void theSkippingFakeUsesItsSkippingFieldAndRecordsTheBlocks() {
        FakeBlockSkippingDenoiser d = FakeDenoiser.builder().field(VelocityField.constant(1f))
                .skippingField((x, t, c, blocks) -> Tensor.full(blocks.size(), x.shape())).blockCount(10)
                .buildBlockSkipping();

        Tensor plain = d.velocity(latents(), Tensor.zeros(2), CONDITIONING);
        Tensor skipped = d.velocitySkipping(latents(), Tensor.zeros(2), CONDITIONING, Set.of(7, 8, 9));

        assertThat(d).isInstanceOf(BlockSkippingDenoiser.class);
        assertThat(d.blockCount()).isEqualTo(10);
        assertThat(plain.toArray()).containsOnly(1f);
        assertThat(skipped.toArray()).containsOnly(3f);
        assertThat(d.calls()).extracting(FakeDenoiser.Call::skippedBlocks).containsExactly(Set.of(), Set.of(7, 8, 9));
    }

    @Test
    void theSkippingFakeDefaultsToThePlainField() {
        FakeBlockSkippingDenoiser d = FakeDenoiser.builder().field(VelocityField.constant(4f)).buildBlockSkipping();

        assertThat(d.velocitySkipping(latents(), Tensor.zeros(2), CONDITIONING, Set.of(1)).toArray())
                .containsOnly(4f);
        assertThat(d.blockCount()).isEqualTo(24);
    }

    @Test
    void theSkippingFakeRejectsBlocksOutOfRange() {
        FakeBlockSkippingDenoiser d = FakeDenoiser.builder().blockCount(4).buildBlockSkipping();

        assertThatThrownBy(() -> d.velocitySkipping(latents(), Tensor.zeros(2), CONDITIONING, Set.of(4)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("skippedBlocks must be in [0, 4), found [4]");
        assertThat(d.callCount()).isZero();
    }

    @Test
    void theBuilderRejectsBadSettings() {
        assertThatThrownBy(() -> FakeDenoiser.builder().field(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("field must be non-null, found null");
        assertThatThrownBy(() -> FakeDenoiser.builder().blockCount(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("blockCount must be >= 1, found 0");
    }
}
