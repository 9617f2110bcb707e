package org.sd3j.train.autodiff;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiFunction;

import org.sd3j.onnx.graph.Dim;
import org.sd3j.onnx.graph.ElementType;
import org.sd3j.onnx.graph.GraphBuilder;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.graph.OnnxGraph;
import org.sd3j.onnx.graph.Value;
import org.sd3j.onnx.runtime.OnnxOptions;

/**
 * Central finite differences against {@link Autodiff} in float64, run by ONNX Runtime: the function under test
 * maps float64 inputs to an output {@code y}; the loss is {@code sum(0.5 y^2 + 0.3 y)} (so every output element
 * carries a different weight), and each input element's analytic gradient must agree with
 * {@code (L(x + h) - L(x - h)) / 2h}, h = 1e-6, to {@code 1e-6} relative (absolute below 1).
 *
 * <p>ONNX Runtime's CPU provider has no float64 kernels for Cos, Sin and Erf: those rules are checked in float32
 * ({@link #float32()}), with h = 3e-3 and a tolerance of 2e-3, what float32 rounding allows. Sessions run without
 * the extended graph optimizations, whose fused MatMul exists for float32 only.
 */
final class GradientCheck {
    private double h = 1e-6;
    private double tolerance = 1e-6;
    private ElementType type = ElementType.DOUBLE;

    private final Map<String, long[]> shapes = new LinkedHashMap<>();
    private final Map<String, double[]> values = new LinkedHashMap<>();
    private final Map<String, Boolean> symbolic = new LinkedHashMap<>();
    private final SplittableRandom random;

    GradientCheck(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /** Checks in float32 instead (for ops ONNX Runtime runs in float32 only). */
    GradientCheck float32() {
        type = ElementType.FLOAT;
        h = 3e-3;
        tolerance = 2e-3;
        return this;
    }

    /** A float64 input with uniform values in [lo, hi). */
    GradientCheck input(String name, double lo, double hi, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = lo + (hi - lo) * random.nextDouble();
        }
        return input(name, v, shape);
    }

    GradientCheck input(String name, double[] v, long... shape) {
        shapes.put(name, shape);
        values.put(name, v);
        symbolic.put(name, false);
        return this;
    }

    /**
     * The finite-difference step: a larger one for functions whose loss is quadratic in the inputs (a convolution
     * under this loss), where central differences are exact and only float32 rounding of the loss remains.
     */
    GradientCheck step(double h) {
        this.h = h;
        return this;
    }

    /** Declares input {@code name}'s first dimension symbolic (as batch and sequence dims are in real graphs). */
    GradientCheck symbolicFirstDim(String name) {
        symbolic.put(name, true);
        return this;
    }

    /**
     * Checks the gradients with respect to every input.
     *
     * @param f builds the output from the input values (by name)
     * @return the largest relative error seen
     */
    double check(BiFunction<GraphBuilder, Map<String, Value>, Value> f) {
        GraphBuilder g = new GraphBuilder("gradcheck");
        Map<String, Value> in = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            Dim[] dims = new Dim[e.getValue().length];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = i == 0 && symbolic.get(e.getKey()) ? Dim.symbol(e.getKey() + "_n") : Dim.of(e.getValue()[i]);
            }
            in.put(e.getKey(), g.input(e.getKey(), type, dims));
        }
        Value y = f.apply(g, in);
        long[] all = new long[y.rank()];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        Value t = type == y.type() ? y : g.cast(y, type);
        Value loss = g.reduceSum(g.add(g.mul(g.scalar(type, 0.5), g.mul(t, t)),
                g.mul(g.scalar(type, 0.3), t)), false, all);
        List<Value> wrt = new ArrayList<>(in.values());
        Map<Value, Value> grads = Autodiff.gradients(g, loss, wrt);
        g.output(loss, "loss");
        for (Value v : wrt) {
            g.output(grads.get(v), "grad." + v.name());
        }
        OnnxGraph graph = g.build();
        double worst = 0;
        OnnxOptions options = OnnxOptions.builder().optimizationLevel(OnnxOptions.OptimizationLevel.BASIC).build();
        try (GraphSession s = GraphSession.create(graph, options)) {
            Map<String, double[]> base = s.runDoubles(values, shapes);
            for (String name : values.keySet()) {
                double[] analytic = base.get("grad." + name);
                double[] x = values.get(name);
                assertThat(analytic).as("gradient of " + name).hasSameSizeAs(x);
                for (int i = 0; i < x.length; i++) {
                    double keep = x[i];
                    x[i] = keep + h;
                    double plus = s.runDoubles(values, shapes).get("loss")[0];
                    x[i] = keep - h;
                    double minus = s.runDoubles(values, shapes).get("loss")[0];
                    x[i] = keep;
                    double fd = (plus - minus) / (2 * h);
                    double err = Math.abs(analytic[i] - fd) / Math.max(1, Math.abs(fd));
                    worst = Math.max(worst, err);
                    assertThat(err).as("d loss / d %s[%d]: analytic %s, finite difference %s", name, i, analytic[i], fd)
                            .isLessThan(tolerance);
                }
            }
        }
        return worst;
    }
}
