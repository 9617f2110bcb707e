/**
 * Training for sd3j: reverse-mode autodiff over the ONNX graph DSL, optimizers, LoRA adapters and the
 * rectified-flow and Diffusion-DPO trainers.
 */
package org.sd3j.train;
