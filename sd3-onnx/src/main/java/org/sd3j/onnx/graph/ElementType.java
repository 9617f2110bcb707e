package org.sd3j.onnx.graph;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;

/** Element types the graphs use, with their ONNX codes. */
public enum ElementType {
    FLOAT(DataType.FLOAT, 4),
    FLOAT16(DataType.FLOAT16, 2),
    BFLOAT16(DataType.BFLOAT16, 2),
    DOUBLE(DataType.DOUBLE, 8),
    INT64(DataType.INT64, 8),
    INT32(DataType.INT32, 4),
    BOOL(DataType.BOOL, 1);

    private final DataType onnx;
    private final int byteSize;

    ElementType(DataType onnx, int byteSize) {
        this.onnx = onnx;
        this.byteSize = byteSize;
    }

    DataType onnx() {
        return onnx;
    }

    public int byteSize() {
        return byteSize;
    }

    public boolean isFloatingPoint() {
        return this == FLOAT || this == FLOAT16 || this == BFLOAT16 || this == DOUBLE;
    }
}
