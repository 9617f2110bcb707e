/**
 * Reading and writing safetensors files, the checkpoint format of Hugging Face and Stability AI.
 *
 * <p>A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * ({@code {"__metadata__": {str: str}, "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}}),
 * then the data section that the offsets index. {@link org.sd3j.onnx.safetensors.Safetensors#open(java.nio.file.Path)}
 * opens a file, a sharded checkpoint's {@code *.safetensors.index.json}, or a folder holding one of them, as a
 * {@link org.sd3j.onnx.safetensors.TensorSource}: memory-mapped, zero-copy, thread-safe, and validated up front
 * (the reader never trusts the header; see {@code HeaderParser} for the rules, which are those of the Python
 * package's reader). {@link org.sd3j.onnx.safetensors.SafetensorsWriter} writes files laid out exactly as the
 * Python package's {@code save_file} does. {@link org.sd3j.onnx.safetensors.Half} converts F16 and BF16.
 */
package org.sd3j.onnx.safetensors;
