/**
 * Resumable training checkpoints: {@link org.sd3j.train.checkpoint.TrainingCheckpoint} saves trainable tensors,
 * optimizer and EMA state, step, RNG state and configuration into one atomically written safetensors file.
 */
package org.sd3j.train.checkpoint;
