package org.sd3j.onnx.graph;

/**
 * Every ONNX operator the graph builder emits: the whole op set in one place, so that the autodiff in sd3-train
 * has one vector-Jacobian rule to write per entry. The builder method of the same name holds each op's shape
 * semantics.
 */
public enum Op {
    ADD("Add"),
    SUB("Sub"),
    MUL("Mul"),
    DIV("Div"),
    POW("Pow"),
    SQRT("Sqrt"),
    RECIPROCAL("Reciprocal"),
    EXP("Exp"),
    COS("Cos"),
    SIN("Sin"),
    SIGMOID("Sigmoid"),
    ABS("Abs"),
    NEG("Neg"),
    LOG("Log"),
    FLOOR("Floor"),
    MIN("Min"),
    MAX("Max"),
    LESS("Less"),
    GREATER("Greater"),
    EQUAL("Equal"),
    WHERE("Where"),
    ARG_MAX("ArgMax"),
    EXPAND("Expand"),
    TANH("Tanh"),
    GELU("Gelu"),
    MATMUL("MatMul"),
    GEMM("Gemm"),
    CONV("Conv"),
    CONV_TRANSPOSE("ConvTranspose"),
    SOFTMAX("Softmax"),
    LAYER_NORMALIZATION("LayerNormalization"),
    REDUCE_MEAN("ReduceMean"),
    REDUCE_SUM("ReduceSum"),
    REDUCE_SUM_SQUARE("ReduceSumSquare"),
    SUM("Sum"),
    PAD("Pad"),
    ERF("Erf"),
    RESHAPE("Reshape"),
    TRANSPOSE("Transpose"),
    CONCAT("Concat"),
    SPLIT("Split"),
    SLICE("Slice"),
    UNSQUEEZE("Unsqueeze"),
    SQUEEZE("Squeeze"),
    GATHER("Gather"),
    SCATTER_ELEMENTS("ScatterElements"),
    SHAPE("Shape"),
    RANGE("Range"),
    CAST("Cast"),
    IDENTITY("Identity"),
    /** ONNX Runtime's fused attention (com.microsoft): Q, K, V [B, L, H*d] -> [B, Lq, H*d]. */
    MULTI_HEAD_ATTENTION("MultiHeadAttention", GraphBuilder.MS_DOMAIN),
    FUSED_MATMUL("FusedMatMul", GraphBuilder.MS_DOMAIN);

    private final String onnxName;
    private final String domain;

    Op(String onnxName) {
        this(onnxName, "");
    }

    Op(String onnxName, String domain) {
        this.onnxName = onnxName;
        this.domain = domain;
    }

    public String onnxName() {
        return onnxName;
    }

    /** Operator domain: "" for standard ONNX, {@code com.microsoft} for ONNX Runtime contrib ops. */
    public String domain() {
        return domain;
    }
}
