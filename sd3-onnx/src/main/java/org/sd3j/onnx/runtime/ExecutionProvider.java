package org.sd3j.onnx.runtime;

/** Where ONNX Runtime runs a graph. CUDA needs the {@code onnxruntime_gpu} artifact instead of {@code onnxruntime}. */
public enum ExecutionProvider {
    CPU,
    CUDA
}
