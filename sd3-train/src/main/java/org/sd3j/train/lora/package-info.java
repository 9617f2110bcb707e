/**
 * LoRA adapters for the MMDiT: which Linear modules to adapt ({@link org.sd3j.train.lora.LoraTargets},
 * {@link org.sd3j.train.lora.LinearLayers}), how to create them ({@link org.sd3j.train.lora.LoraSpec}), the
 * adapters themselves keyed by original checkpoint names ({@link org.sd3j.train.lora.LoraWeights}), and their
 * files in the diffusers/PEFT and kohya layouts ({@link org.sd3j.train.lora.LoraFiles}).
 */
package org.sd3j.train.lora;
