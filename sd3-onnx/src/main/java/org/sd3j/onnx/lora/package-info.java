/**
 * LoRA at inference for the ONNX Runtime backend. Reading: {@link org.sd3j.onnx.lora.LoraFileReader} recognises a
 * file's key layout ({@link org.sd3j.onnx.lora.LoraKeyStyle}: diffusers/PEFT, kohya, ComfyUI, original keys) and
 * the modules it adapts ({@link org.sd3j.onnx.lora.LoraScan}, names in {@link org.sd3j.onnx.lora.MmditModules} and
 * {@link org.sd3j.onnx.lora.ClipModules}), checks shapes ({@link org.sd3j.onnx.lora.LoraFit}) and reads the
 * tensors. Placing: {@link org.sd3j.onnx.lora.LoraPlacement} finds where a model stores each adapted weight
 * ({@link org.sd3j.onnx.lora.CheckpointLocators} for checkpoints, {@link org.sd3j.onnx.lora.OnnxModelWeights} for
 * ONNX exports). Applying: merged into the weights ({@link org.sd3j.onnx.lora.LoraMerge},
 * {@link org.sd3j.onnx.lora.MergedTensorSource}) or fed per generation to graphs with adapter inputs
 * ({@link org.sd3j.onnx.lora.LoraInputs}, {@link org.sd3j.onnx.lora.LoraGraphInputs}). sd3-train's
 * {@code LoraFiles} reads through the same classes.
 */
package org.sd3j.onnx.lora;
