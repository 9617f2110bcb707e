package org.sd3j.train.autodiff;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.Op;
import org.sd3j.onnx.graph.Value;

/** Every gradient rule against central finite differences in float64 (see {@link GradientCheck}). */
class VjpRulesTest {

    static GradientCheck check() {
        return new GradientCheck(42);
    }

    @Nested
    class Elementwise {
        @Test
        void addSubMulDivWithBroadcasting() {
            check().input("a", -1, 1, 2, 3, 4).input("b", 0.5, 1.5, 4).input("c", 0.5, 1.5, 2, 1, 4)
                    .check((g, v) -> {
                        Value s = g.add(v.get("a"), v.get("b"));
                        Value d = g.sub(s, v.get("c"));
                        Value m = g.mul(d, v.get("b"));
                        return g.div(m, v.get("c"));
                    });
        }

        @Test
        void unaryFunctions() {
            check().input("x", 0.2, 1.4, 3, 5).check((g, v) -> {
                Value x = v.get("x");
                Value a = g.add(g.sqrt(x), g.reciprocal(x));
                Value b = g.add(g.exp(x), g.log(x));
                Value d = g.add(g.sigmoid(x), g.tanh(x));
                Value e = g.neg(g.abs(g.sub(x, g.scalar(ElementType.DOUBLE, 0.8))));
                return g.add(g.add(a, b), g.add(d, e));
            });
        }

        @Test
        void cosSinErfInFloat32() {
            check().float32().input("x", -1.5, 1.5, 3, 5).check((g, v) -> {
                Value x = v.get("x");
                return g.add(g.add(g.cos(x), g.sin(x)), g.erf(x));
            });
        }

        @Test
        void powWithAConstantExponent() {
            check().input("x", 0.3, 2.0, 4, 3).check((g, v) -> g.pow(v.get("x"), g.scalar(ElementType.DOUBLE, 2.5)));
        }

        @Test
        void minMaxAndWhere() {
            check().input("a", -1, 1, 3, 4).input("b", -1, 1, 3, 4).check((g, v) -> {
                Value a = v.get("a");
                Value b = v.get("b");
                Value w = g.where(g.greater(a, g.scalar(ElementType.DOUBLE, 0.0)), a, g.mul(b, b));
                return g.add(g.add(g.min(a, b), g.max(a, b)), w);
            });
        }

        @Test
        void geluWithTheTanhApproximation() {
            check().input("x", -3, 3, 4, 6).check((g, v) -> g.gelu(v.get("x"), true));
        }

        @Test
        void geluSpelledOutWithItsSigmoid() {
            check().input("x", -4, 4, 2, 3, 5).check((g, v) -> g.geluTanhAsSigmoid(v.get("x")));
            check().float32().input("x", -4, 4, 2, 3, 5).check((g, v) -> g.geluTanhAsSigmoid(v.get("x")));
        }

        @Test
        void geluSpelledOutReusesItsSigmoidInTheBackwardPass() {
            // dy * s * (1 + (x - y)(a + 3b x^2)) from the forward's s and x^2: 7 ops and no second sigmoid (the
            // general rules would take 13 through the sigmoid's chain).
            assertThat(backwardNodes(true) - backwardNodes(false)).isEqualTo(7);
        }

        private long backwardNodes(boolean gelu) {
            GraphBuilder g = new GraphBuilder("gelu");
            Value x = g.input("x", ElementType.FLOAT, Dim.of(2), Dim.of(8));
            Value y = gelu ? g.geluTanhAsSigmoid(x) : x;
            long forward = g.nodes().size();
            Autodiff.gradients(g, g.reduceSum(g.mul(y, y), false, 0, 1), List.of(x));
            assertThat(g.nodes().stream().filter(n -> n.op() == Op.SIGMOID)).hasSize(gelu ? 1 : 0);
            return g.nodes().size() - forward;
        }

        @Test
        void geluExactInFloat32() {
            check().float32().input("x", -3, 3, 4, 6).check((g, v) -> g.gelu(v.get("x"), false));
        }

        @Test
        void siluAsComposed() {
            check().input("x", -3, 3, 2, 8).check((g, v) -> g.silu(v.get("x")));
        }
    }

    @Nested
    class LinearAlgebra {
        @Test
        void batchedMatMul() {
            check().input("a", -1, 1, 2, 3, 4, 5).input("b", -1, 1, 2, 3, 5, 2)
                    .check((g, v) -> g.matMul(v.get("a"), v.get("b")));
        }

        @Test
        void batchedMatMulInFloat32TakesTransposedProductsWithoutCopyingTheLargerOperand() {
            // dB = A^T dY with A [5, 5] larger than dY [5, 2]: computed as (dY^T A)^T.
            check().float32().input("a", -1, 1, 2, 3, 5, 5).input("b", -1, 1, 2, 3, 5, 2)
                    .check((g, v) -> g.matMul(v.get("a"), v.get("b")));
        }

        @Test
        void fusedMatMulWithEitherOperandTransposed() {
            for (boolean transA : new boolean[] {false, true}) {
                for (boolean transB : new boolean[] {false, true}) {
                    // A' [5, 2] and B' [2, 5]: the scores' shapes, whose dY [5, 5] is the larger operand.
                    long[] a = transA ? new long[] {2, 3, 2, 5} : new long[] {2, 3, 5, 2};
                    long[] b = transB ? new long[] {2, 3, 5, 2} : new long[] {2, 3, 2, 5};
                    check().float32().input("a", -1, 1, a).input("b", -1, 1, b)
                            .check((g, v) -> g.fusedMatMul(v.get("a"), v.get("b"), transA, transB));
                }
            }
        }

        @Test
        void matMulOfATensorByAMatrix() {
            check().input("a", -1, 1, 2, 3, 4).input("w", -1, 1, 4, 5).check((g, v) -> g.matMul(v.get("a"), v.get("w")));
        }

        @Test
        void gemmWithAndWithoutTransposeAndBias() {
            check().input("x", -1, 1, 3, 4).input("w", -1, 1, 5, 4).input("b", -1, 1, 5).input("u", -1, 1, 5, 2)
                    .check((g, v) -> g.gemm(g.gemm(v.get("x"), v.get("w"), v.get("b"), true), v.get("u"), null, false));
        }

        @Test
        void gemmWithATransposedFirstOperand() {
            check().input("x", -1, 1, 4, 3).input("w", -1, 1, 5, 4).input("z", -1, 1, 4, 5)
                    .check((g, v) -> g.add(g.gemm(v.get("x"), v.get("w"), null, true, true),
                            g.gemm(v.get("x"), v.get("z"), null, true, false)));
        }

        // ONNX Runtime's CPU provider has Conv and ConvTranspose in float32 only. The loss is quadratic in x and w
        // (each alone), so a large step costs no accuracy and keeps float32 rounding small.
        @Test
        void convolutionWithStrideAndPadding() {
            check().float32().step(0.1).input("x", -1, 1, 2, 3, 7, 6).input("w", -1, 1, 4, 3, 3, 3).input("b", -1, 1, 4)
                    .check((g, v) -> g.conv(v.get("x"), v.get("w"), v.get("b"), new long[] {2, 2},
                            new long[] {1, 1, 1, 1}));
        }

        @Test
        void convolutionWithAsymmetricPaddingAsTheVaeDownsamples() {
            check().float32().step(0.1).input("x", -1, 1, 1, 2, 6, 6).input("w", -1, 1, 3, 2, 3, 3)
                    .check((g, v) -> g.conv(v.get("x"), v.get("w"), null, new long[] {2, 2}, new long[] {0, 0, 1, 1}));
        }

        @Test
        void linearOverA3dInputWithASymbolicBatch() {
            check().input("x", -1, 1, 2, 3, 4).symbolicFirstDim("x").input("w", -1, 1, 6, 4).input("b", -1, 1, 6)
                    .check((g, v) -> g.linear(v.get("x"), v.get("w"), v.get("b")));
        }
    }

    @Nested
    class Normalization {
        @Test
        void softmaxOverTheLastAxis() {
            check().input("x", -2, 2, 2, 3, 5).check((g, v) -> g.softmax(v.get("x"), -1));
        }

        @Test
        void attentionProbabilitiesReadOnlyByTheirProduct() {
            // The softmax's row dots come from the product's output and gradient (FlashAttention's D).
            check().input("s", -2, 2, 2, 5, 5).input("v", -1, 1, 2, 5, 3)
                    .check((g, v) -> g.matMul(g.softmax(v.get("s"), -1), v.get("v")));
            check().float32().input("q", -1, 1, 2, 5, 3).input("k", -1, 1, 2, 5, 3).input("v", -1, 1, 2, 5, 3)
                    .check((g, v) -> g.matMul(g.softmax(g.fusedMatMul(v.get("q"), v.get("k"), false, true), -1),
                            v.get("v")));
        }

        @Test
        void attentionProbabilitiesWithAnotherReaderKeepTheGeneralRule() {
            check().input("s", -2, 2, 2, 5, 5).input("v", -1, 1, 2, 5, 3).check((g, v) -> {
                Value p = g.softmax(v.get("s"), -1);
                return g.add(g.matMul(p, v.get("v")), g.reduceSum(g.mul(p, p), true, -1));
            });
        }

        @Test
        void theAttentionRuleReducesOverTheHeadWidthNotOverTheKeys() {
            GraphBuilder g = new GraphBuilder("attention");
            Value s = g.input("s", ElementType.FLOAT, Dim.of(2), Dim.of(5), Dim.of(5));
            Value v = g.input("v", ElementType.FLOAT, Dim.of(2), Dim.of(5), Dim.of(3));
            Value out = g.matMul(g.softmax(s, -1), v);
            Autodiff.gradients(g, g.reduceSum(g.mul(out, out), false, 0, 1, 2), List.of(s, v));
            List<List<Dim>> reduced = g.nodes().stream().filter(n -> n.op() == Op.REDUCE_SUM)
                    .map(n -> g.value(n.inputs().get(0)).shape()).toList();
            assertThat(reduced).contains(List.of(Dim.of(2), Dim.of(5), Dim.of(3)))
                    .doesNotContain(List.of(Dim.of(2), Dim.of(5), Dim.of(5)));
        }

        @Test
        void layerNormWithScaleAndBias() {
            check().input("x", -2, 2, 2, 3, 6).input("s", 0.5, 1.5, 6).input("b", -1, 1, 6)
                    .check((g, v) -> g.layerNorm(v.get("x"), v.get("s"), v.get("b"), 1e-6));
        }

        @Test
        void layerNormKeepingItsStatisticsForTheBackwardPass() {
            // ONNX Runtime outputs the statistics for float32 inputs only.
            check().float32().input("x", -2, 2, 2, 3, 6).input("s", 0.5, 1.5, 6).input("b", -1, 1, 6)
                    .check((g, v) -> g.layerNormWithStatistics(v.get("x"), v.get("s"), v.get("b"), 1e-6)[0]);
        }

        @Test
        void layerNormWithAUnitScaleAfterAnAdd() {
            // SD3's norms before modulation: no multiplication by the unit scale; x is an Add's result, which ONNX
            // Runtime would fuse into the norm if the rule did not read x.
            check().float32().input("x", -2, 2, 2, 3, 6).input("r", -2, 2, 2, 3, 6)
                    .check((g, v) -> g.layerNormWithStatistics(g.add(v.get("x"), v.get("r")),
                            g.constant(new float[] {1, 1, 1, 1, 1, 1}, 6), null, 1e-6)[0]);
        }

        @Test
        void layerNormWithAUnitScaleWhoseInputIsAlsoReadElsewhere() {
            // x-hat then comes from the norm's output (the rule's other path).
            check().float32().input("x", -2, 2, 2, 3, 6).input("r", -2, 2, 2, 3, 6).check((g, v) -> {
                Value sum = g.add(v.get("x"), v.get("r"));
                Value y = g.layerNormWithStatistics(sum, g.constant(new float[] {1, 1, 1, 1, 1, 1}, 6), null, 1e-6)[0];
                return g.add(y, g.mul(sum, g.constant(new float[] {0.5f}, 1)));
            });
        }

        @Test
        void layerNormUnderAModulationTakesItsRowMeansFromTheModulationsProduct() {
            // SD3's x-hat * (1 + scale) + shift, scale and shift [B, 1, D]; both paths to x-hat (stats kept or not).
            for (boolean statistics : new boolean[] {false, true}) {
                check().float32().input("x", -2, 2, 2, 3, 6).input("s", -0.5, 0.5, 2, 1, 6)
                        .input("b", -1, 1, 2, 1, 6).check((g, v) -> modulated(g, v.get("x"), v.get("s"),
                                v.get("b"), statistics));
            }
            GraphBuilder g = new GraphBuilder("modulated");
            Value x = g.input("x", ElementType.FLOAT, Dim.of(2), Dim.of(3), Dim.of(6));
            Value s = g.input("s", ElementType.FLOAT, Dim.of(2), Dim.of(1), Dim.of(6));
            Value y = modulated(g, x, s, g.input("b", ElementType.FLOAT, Dim.of(2), Dim.of(1), Dim.of(6)), true);
            Autodiff.gradients(g, g.reduceSum(g.mul(y, y), false, 0, 1, 2), List.of(x, s));
            // The row means as a product with the modulation, reshaped [B, D, 1].
            assertThat(g.nodes()).anyMatch(n -> n.op() == Op.MATMUL
                    && List.of(Dim.of(2), Dim.of(6), Dim.of(1)).equals(g.value(n.inputs().get(1)).shape()));
        }

        private Value modulated(GraphBuilder g, Value x, Value s, Value b, boolean statistics) {
            Value ones = g.constant(new float[] {1, 1, 1, 1, 1, 1}, 6);
            Value norm = statistics ? g.layerNormWithStatistics(x, ones, null, 1e-6)[0]
                    : g.layerNorm(x, ones, null, 1e-6);
            return g.add(g.mul(norm, g.add(s, g.constant(new float[] {1}, 1))), b);
        }

        @Test
        void reduceMeanAndSumKeepingAndDroppingAxes() {
            check().input("x", -2, 2, 2, 3, 4).check((g, v) -> {
                Value m = g.reduceMean(v.get("x"), true, -1); // [2, 3, 1]
                Value s = g.reduceSum(v.get("x"), false, 1); // [2, 4]
                return g.add(g.mul(v.get("x"), m), g.unsqueeze(s, 1));
            });
        }

        @Test
        void reduceMeanOverASymbolicAxis() {
            check().input("x", -2, 2, 3, 4).symbolicFirstDim("x")
                    .check((g, v) -> g.reduceMean(v.get("x"), false, 0));
        }

        @Test
        void rmsNormAsComposed() {
            check().input("x", -2, 2, 2, 8).input("w", 0.5, 1.5, 8).check((g, v) -> {
                Value x = v.get("x");
                Value ms = g.reduceMean(g.mul(x, x), true, -1);
                Value inv = g.reciprocal(g.sqrt(g.add(ms, g.scalar(ElementType.DOUBLE, 1e-6))));
                return g.mul(g.mul(x, inv), v.get("w"));
            });
        }
    }

    @Nested
    class ShapeOps {
        @Test
        void reshapeTransposeUnsqueezeSqueeze() {
            check().input("x", -1, 1, 2, 3, 4).check((g, v) -> {
                Value r = g.reshape(v.get("x"), 0, 2, 6);
                Value t = g.transpose(r, 2, 0, 1);
                Value u = g.unsqueeze(t, 1);
                return g.squeeze(g.mul(u, u), 1);
            });
        }

        @Test
        void concatAndSplitWithStaticSizes() {
            check().input("a", -1, 1, 2, 3).input("b", -1, 1, 2, 5).check((g, v) -> {
                Value c = g.concat(1, v.get("a"), v.get("b"));
                Value[] parts = g.split(g.mul(c, c), 1, 4, 4);
                return parts[0]; // the second part gets no gradient: zeros
            });
        }

        @Test
        void concatWithRunTimeSizesAndSlicesWithRunTimeBounds() {
            // As the joint attention does: context and image tokens of symbolic lengths along axis 1.
            check().input("ctx", -1, 1, 3, 2).symbolicFirstDim("ctx").input("img", -1, 1, 4, 2)
                    .symbolicFirstDim("img").check((g, v) -> {
                        Value joint = g.concat(0, v.get("ctx"), v.get("img"));
                        Value sq = g.mul(joint, joint);
                        Value len = g.unsqueeze(g.dimOf(v.get("ctx"), 0), 0);
                        Value tail = g.slice(sq, len, g.int64s(Long.MAX_VALUE), g.int64s(0));
                        Value head = g.slice(sq, g.int64s(0), len, g.int64s(0));
                        return g.concat(0, g.mul(head, g.scalar(ElementType.DOUBLE, 2.0)), tail);
                    });
        }

        @Test
        void aSliceOverTwoAxesWithRunTimeBoundsAsThePositionGridIsCropped() {
            // The central 2 x 3 window of a 1 x 4 x 5 x 2 grid, bounds computed at run time from another input's size.
            check().input("grid", -1, 1, 1, 4, 5, 2).input("size", -1, 1, 2).symbolicFirstDim("size")
                    .check((g, v) -> {
                        Value h = g.dimOf(v.get("size"), 0); // 2
                        Value top = g.div(g.sub(g.int64Scalar(4), h), g.int64Scalar(2));
                        Value starts = g.concat(0, g.unsqueeze(top, 0), g.int64s(1));
                        Value ends = g.concat(0, g.unsqueeze(g.add(top, h), 0), g.int64s(4));
                        Value crop = g.slice(v.get("grid"), starts, ends, g.int64s(1, 2));
                        return g.mul(crop, crop);
                    });
        }

        @Test
        void gatherWithRepeatedIndicesAsThePositionTableIsRead() {
            check().input("table", -1, 1, 1, 6, 3).check((g, v) -> g.gather(v.get("table"),
                    g.int64s(4, 1, 1, 5, 0), 1));
        }

        @Test
        void expandAsTheVaeUpsamplesByNearestNeighbour() {
            // [B, C, H, W] -> [B, C, H, 1, W, 1] -> broadcast x2 on both -> [B, C, 2H, 2W], the batch symbolic.
            check().input("x", -1, 1, 2, 3, 2, 3).symbolicFirstDim("x").check((g, v) -> {
                Value x = v.get("x");
                Value e = g.expand(g.unsqueeze(x, 3, 5), g.int64s(1, 1, 1, 2, 1, 2));
                Value up = g.reshapeTo(e, g.mul(g.shape(x), g.int64s(1, 1, 2, 2)),
                        List.of(x.dim(0), Dim.of(3), Dim.of(4), Dim.of(6)));
                return g.mul(up, up);
            });
        }

        @Test
        void expandAddingLeadingAxesAndBroadcastingAStaticOne() {
            check().input("x", -1, 1, 3, 1).check((g, v) -> {
                Value e = g.expand(v.get("x"), g.int64s(2, 3, 4));
                return g.reshapeTo(g.mul(e, e), g.int64s(2, 3, 4), List.of(Dim.of(2), Dim.of(3), Dim.of(4)));
            });
        }

        @Test
        void expandOfARunTimeSizeThatMayBeBroadcastIsRefused() {
            GraphBuilder g = new GraphBuilder("expand");
            Value x = g.input("x", ElementType.DOUBLE, Dim.symbol("n"), Dim.of(3));
            Value e = g.expand(x, g.int64s(4, 3));
            Value loss = g.reduceSum(g.reshape(e, -1), false, 0);
            assertThatThrownBy(() -> Autodiff.gradients(g, loss, List.of(x)))
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("no gradient rule for Expand")
                    .hasMessageContaining("may have been broadcast");
        }

        @Test
        void staticSlice() {
            check().input("x", -1, 1, 2, 6).check((g, v) -> g.slice(g.mul(v.get("x"), v.get("x")), 1, 2, 5));
        }

        @Test
        void castPassesTheGradientBackInTheInputType() {
            check().float32().input("x", -1, 1, 3).check((g, v) -> {
                Value d = g.cast(v.get("x"), ElementType.DOUBLE);
                return g.cast(g.mul(d, d), ElementType.FLOAT);
            });
        }
    }

    @Test
    void aValueTheLossDoesNotDependOnGetsZeros() {
        GraphBuilder g = new GraphBuilder("unused");
        Value x = g.input("x", ElementType.DOUBLE, Dim.of(3));
        Value unused = g.input("u", ElementType.DOUBLE, Dim.of(2));
        Value loss = g.reduceSum(g.mul(x, x), false, 0);
        var grads = Autodiff.gradients(g, loss, List.of(x, unused));
        assertThat(grads.get(unused).shape()).containsExactly(Dim.of(2));
    }

    @Test
    void anOpWithoutARuleIsNamed() {
        GraphBuilder g = new GraphBuilder("fused");
        Value q = g.input("q", ElementType.FLOAT, Dim.of(1), Dim.of(4), Dim.of(8));
        Value y = g.multiHeadAttention(q, q, q, 2);
        Value loss = g.reduceSum(y, false, 0, 1, 2);
        assertThatThrownBy(() -> Autodiff.gradients(g, loss, List.of(q)))
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("no gradient rule for MultiHeadAttention")
                .hasMessageContaining("Attention.PRIMITIVE");
    }
}
