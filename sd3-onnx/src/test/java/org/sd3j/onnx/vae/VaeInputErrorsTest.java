package org.sd3j.onnx.vae;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.tensor.Tensor;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VaeInputErrorsTest {
    private OnnxVae vae;

    @BeforeAll
    void load() {
        vae = OnnxVae.load(VaeParityTest.resource("weights.safetensors"), OnnxOptions.cpu());
    }

    @AfterAll
    void close() {
        vae.close();
    }

    @Test
    void imageSidesMustBeMultiplesOf8() {
        assertThatThrownBy(() -> vae.encode(Tensor.zeros(1, 3, 30, 32)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("images must be a multiple of 8 on both sides, found 32x30");
    }

    @Test
    void imagesMustHaveThreeChannels() {
        assertThatThrownBy(() -> vae.encode(Tensor.zeros(1, 4, 32, 32)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("images must be [B, 3, H, W], found ");
    }

    @Test
    void latentsMustHave16Channels() {
        assertThatThrownBy(() -> vae.decode(Tensor.zeros(1, 4, 8, 8)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("latents must be [B, 16, h, w], found ");
    }

    @Test
    void closedVaeRefusesWork() {
        OnnxVae other = OnnxVae.load(VaeParityTest.resource("weights.safetensors"), OnnxOptions.cpu());
        other.close();
        other.close();
        assertThatThrownBy(() -> other.decode(Tensor.zeros(1, 16, 2, 2)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is closed");
    }
}
