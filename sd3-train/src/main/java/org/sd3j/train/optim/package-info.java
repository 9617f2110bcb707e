/**
 * Optimisation of trainable float32 tensors held as ordered {@code Map<String, Tensor>} (name -> tensor), with
 * gradients under the same names: {@link org.sd3j.train.optim.AdamW} (bit for bit torch's), a
 * {@link org.sd3j.train.optim.LearningRateSchedule}, {@link org.sd3j.train.optim.GradientClipping} by global norm,
 * a {@link org.sd3j.train.optim.GradientAccumulator} and an {@link org.sd3j.train.optim.Ema} of the weights.
 * Stateful classes export their state as {@link org.sd3j.train.optim.StateTensors} for checkpoints.
 */
package org.sd3j.train.optim;
