/**
 * ONNX Runtime backend for sd3j: safetensors loading, the ONNX graph DSL, the SD3 architectures
 * (MMDiT, CLIP, T5, VAE) built as graphs, and model folder loading. Arrives with the ONNX backend
 * issue; ONNX Runtime types never leave this module.
 */
package org.sd3j.onnx;
