/**
 * Prompt tokenizers for SD3's text encoders, backed by DJL HuggingFace tokenizers and usable as the
 * {@code Function<String, long[]>} the ONNX text encoders accept.
 *
 * <ul>
 *   <li>{@link org.sd3j.onnx.tokenizer.ClipTokenizer}: {@code tokenizer/} (CLIP-L, pads with the end token 49407)
 *       and {@code tokenizer_2/} (CLIP-G, pads with 0) folders; 77 ids; truncation (WARN with the dropped count)
 *       or 77-id chunks.</li>
 *   <li>{@link org.sd3j.onnx.tokenizer.T5Tokenizer}: {@code tokenizer_3/tokenizer.json}; {@code </s>} appended,
 *       pad 0, 256 ids by default (at most 512).</li>
 * </ul>
 *
 * <p>Offline: before the first DJL use the system properties {@code ai.djl.offline=true} and
 * {@code OPT_OUT_TRACKING=true} are set unless already set as system properties or as the environment variables
 * {@code DJL_OFFLINE} / {@code OPT_OUT_TRACKING} (which DJL also reads). The native library comes from the
 * {@code ai.djl.huggingface:tokenizers} jar (extracted to DJL's cache dir, {@code DJL_CACHE_DIR} /
 * {@code ~/.djl.ai}); no network access is made.
 */
package org.sd3j.onnx.tokenizer;
