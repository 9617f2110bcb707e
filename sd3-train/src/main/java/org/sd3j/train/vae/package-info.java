/**
 * The autoencoder side of training an SD3 from scratch: {@link org.sd3j.train.vae.VaeInit} draws seeded initial
 * weights for a geometry, {@link org.sd3j.train.vae.VaeFiles} writes weights under SD3's {@code first_stage_model.}
 * keys, {@link org.sd3j.train.vae.ReconstructionMetrics} measures PSNR on held-out images and
 * {@link org.sd3j.train.vae.LatentScaling} derives the latent scaling and shift from data. The trainer itself is
 * {@link org.sd3j.train.AutoencoderTrainer}; its step graph {@link org.sd3j.train.step.AutoencoderStep}.
 * No ONNX Runtime type appears in this package's API.
 */
package org.sd3j.train.vae;
