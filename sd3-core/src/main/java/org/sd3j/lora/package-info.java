/**
 * LoRA at inference, backend-neutral: what to apply ({@link org.sd3j.lora.LoraRequest}: a file and its weight) and
 * the interface through which components apply LoRAs per generation ({@link org.sd3j.lora.LoraCapable}). Files are
 * read by the backend, never by sd3-core.
 */
package org.sd3j.lora;
