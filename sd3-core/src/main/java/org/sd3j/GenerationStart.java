package org.sd3j;

/**
 * The resolved settings of a generation that is starting.
 *
 * @param width        image width in pixels
 * @param height       image height in pixels
 * @param batchSize    images in the batch
 * @param steps        steps this run will take (fewer than the schedule's for img2img)
 * @param seed         seed of batch item 0
 * @param guided       whether classifier-free guidance is on
 */
public record GenerationStart(int width, int height, int batchSize, int steps, long seed, boolean guided) {
}
