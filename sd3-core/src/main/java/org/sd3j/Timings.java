package org.sd3j;

import java.time.Duration;

/**
 * Where a generation's time went.
 *
 * @param encode  text encoding (and the VAE encoder for img2img)
 * @param denoise the sampling loop
 * @param decode  VAE decoding
 * @param total   start to end
 */
public record Timings(Duration encode, Duration denoise, Duration decode, Duration total) {
}
