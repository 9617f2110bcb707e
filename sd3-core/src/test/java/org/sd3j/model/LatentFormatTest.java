package org.sd3j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.sd3j.golden.GoldenTensors;
import org.sd3j.tensor.Tensor;

class LatentFormatTest {
    private static final GoldenTensors GOLDEN = GoldenTensors.load("/golden/latent_format.safetensors");

    @Test
    void toDenoiserSpaceMatchesReferenceProcessIn() {
        Tensor out = LatentFormat.SD3.toDenoiserSpace(GOLDEN.tensor("x"));
        // Reference float32 vs ours: same two float ops; tolerance 1e-6 covers operation-order differences.
        assertThat(out.maxAbsDiff(GOLDEN.tensor("process_in"))).isLessThan(1e-6);
    }

    @Test
    void toVaeSpaceMatchesReferenceProcessOut() {
        Tensor out = LatentFormat.SD3.toVaeSpace(GOLDEN.tensor("x"));
        assertThat(out.maxAbsDiff(GOLDEN.tensor("process_out"))).isLessThan(1e-6);
    }

    @Test
    void roundTripsWithinFloatPrecision() {
        Tensor x = GOLDEN.tensor("x");
        Tensor back = LatentFormat.SD3.toVaeSpace(LatentFormat.SD3.toDenoiserSpace(x));
        assertThat(back.maxAbsDiff(x)).isLessThan(1e-6);
    }

    @Test
    void sd3ConstantsAreTheSpecs() {
        assertThat(LatentFormat.SD3).isEqualTo(new LatentFormat(16, 8, 1.5305, 0.0609));
    }

    @Test
    void latentShapeDividesByDownscale() {
        assertThat(LatentFormat.SD3.latentShape(2, 832, 1216)).containsExactly(2, 16, 152, 104);
    }

    @Test
    void rejectsBadParameters() {
        assertThatThrownBy(() -> new LatentFormat(0, 8, 1, 0))
                .hasMessage("channels must be >= 1, found 0");
        assertThatThrownBy(() -> new LatentFormat(16, 8, Double.NaN, 0))
                .hasMessage("scalingFactor must be finite and > 0, found NaN");
        assertThatThrownBy(() -> new LatentFormat(16, 8, 1.5, Double.POSITIVE_INFINITY))
                .hasMessage("shiftFactor must be finite, found Infinity");
        assertThatThrownBy(() -> LatentFormat.SD3.latentShape(1, 100, 64))
                .hasMessage("size must be a multiple of 8 on both sides, found 100x64");
    }
}
