/**
 * Reading and writing safetensors files, the checkpoint format of Hugging Face and Stability AI.
 *
 * <p>A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * ({@code {"__metadata__": {str: str}, "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}}),
 * then the data section that the offsets (relative to its start) index.
 * {@link org.sd3j.onnx.safetensors.Safetensors#open(java.nio.file.Path)} opens a file, a sharded checkpoint's
 * {@code *.safetensors.index.json}, or a folder holding one of them, as a
 * {@link org.sd3j.onnx.safetensors.TensorSource}: memory-mapped, zero-copy, thread-safe.
 * {@link org.sd3j.onnx.safetensors.SafetensorsWriter} writes files laid out exactly as the Python package's
 * {@code save_file} does. {@link org.sd3j.onnx.safetensors.Half} converts F16 and BF16.
 *
 * <h2>Validation</h2>
 * The reader never trusts a header: opening validates all of it, with the rules of the reference reader (the Rust
 * crate behind the Python {@code safetensors} package), and each failure is a {@link org.sd3j.ModelLoadException}
 * naming the file and the tensor, what was expected and what was found:
 * <ul>
 *   <li>the file holds at least the 8-byte header length N; N is at most 100,000,000 and at most the number of
 *       bytes that follow it;</li>
 *   <li>the header is strict UTF-8, starts with <code>'&#123;'</code> and is a single JSON object (whitespace may follow: the
 *       Python writer pads with spaces); no object holds a key twice (a duplicate tensor name is an error, not
 *       "last one wins");</li>
 *   <li>{@code __metadata__}, if present and not null, is an object of strings;</li>
 *   <li>every other entry is an object with {@code dtype} (a known {@link org.sd3j.onnx.safetensors.DType} name),
 *       {@code shape} (non-negative integers) and {@code data_offsets} (two integers {@code 0 <= begin <= end});
 *       other fields are ignored, as by the reference; {@code end - begin} equals the dtype size times the element
 *       count (computed without overflow), and the range lies inside the data section;</li>
 *   <li>sorted by offsets, the tensors cover the data section exactly: no overlap, no gap between tensors or at the
 *       start, no bytes after the last one. The reference rejects gaps and trailing bytes too; following it means
 *       that a file this reader accepts is one every safetensors reader accepts, and that a writer leaving holes is
 *       caught at once.</li>
 * </ul>
 * The order of entries in the header is free (older writers sorted by name, newer ones by dtype alignment), and the
 * data need not be aligned. Sub-byte dtypes (F4, F6) are not supported.
 */
package org.sd3j.onnx.safetensors;
