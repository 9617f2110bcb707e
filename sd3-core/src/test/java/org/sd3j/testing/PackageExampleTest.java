package org.sd3j.testing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.sd3j.GenerationResult;
import org.sd3j.Sd3Pipeline;

/** The example in this package's documentation, kept compiling and true. */
class PackageExampleTest {
    @Test
    void theDocumentedExampleWorks() {
        FakeDenoiser denoiser = FakeDenoiser.zero();
        RecordingListener events = new RecordingListener();
        GenerationResult result = Sd3Pipeline.builder()
                .encoders(FakeTextEncoder.clipL(), FakeTextEncoder.clipG(), FakeTextEncoder.t5())
                .denoiser(denoiser)
                .vae(new IdentityVae())
                .listener(events)
                .size(64, 64).steps(4).seed(42)
                .generate("a red fox");

        assertThat(denoiser.callCount()).isEqualTo(4);
        assertThat(events.events()).containsExactly("start", "step 1/4", "step 2/4", "step 3/4", "step 4/4", "end");
        assertThat(result.image().width()).isEqualTo(64);
    }
}
