/**
 * Test doubles for sd3j's backends, published in sd3-core's test-jar
 * ({@code <classifier>tests</classifier>}, test scope) so that code built on sd3j can be unit-tested without
 * model weights:
 * <ul>
 *   <li>{@link org.sd3j.testing.FakeTextEncoder}: deterministic features from the prompt text, any role and
 *       size; records the prompts it saw.</li>
 *   <li>{@link org.sd3j.testing.FakeDenoiser}: a velocity function of your choice
 *       ({@link org.sd3j.testing.FakeDenoiser.VelocityField}); records every call.
 *       {@link org.sd3j.testing.FakeBlockSkippingDenoiser} adds block skipping for skip-layer guidance.</li>
 *   <li>{@link org.sd3j.testing.IdentityVae}: average-pool encode, repeat-upsample decode, exact and
 *       weightless.</li>
 *   <li>{@link org.sd3j.testing.RecordingListener}: every progress event, in order.</li>
 * </ul>
 *
 * <pre>{@code
 * FakeDenoiser denoiser = FakeDenoiser.zero();
 * RecordingListener events = new RecordingListener();
 * GenerationResult result = Sd3Pipeline.builder()
 *         .encoders(FakeTextEncoder.clipL(), FakeTextEncoder.clipG(), FakeTextEncoder.t5())
 *         .denoiser(denoiser)
 *         .vae(new IdentityVae())
 *         .listener(events)
 *         .size(64, 64).steps(4).seed(42)
 *         .generate("a red fox");
 * assertThat(denoiser.callCount()).isEqualTo(4);
 * assertThat(events.events()).containsExactly("start", "step 1/4", "step 2/4", "step 3/4", "step 4/4", "end");
 * }</pre>
 *
 * <p>Every fake is thread-safe as long as the functions given to it are.
 */
package org.sd3j.testing;
