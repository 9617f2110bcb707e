package org.sd3j.onnx.lora;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Merges placed adapters into stored weights: {@code W' = W + sum_i scale_i * B_i A_i} on each adapter's rows,
 * accumulated in double per output row and rounded to float once; rows no adapter covers keep their exact values.
 * Stateless.
 */
public final class LoraMerge {
    private LoraMerge() {
    }

    /**
     * The merged values of every tensor the adapters touch.
     *
     * @param base tensor name -> its current values as float32, in its stored layout ([out, in], or [in, out] when
     *             transposed); not modified
     * @return tensor name -> new merged values, in the same layout
     */
    public static Map<String, float[]> merge(List<PlacedAdapter> adapters, Function<String, float[]> base) {
        Map<String, List<PlacedAdapter>> byTensor = new LinkedHashMap<>();
        for (PlacedAdapter a : adapters) {
            byTensor.computeIfAbsent(a.at().tensor(), t -> new ArrayList<>()).add(a);
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        byTensor.forEach((tensor, list) -> out.put(tensor, mergeOne(base.apply(tensor).clone(), list)));
        return out;
    }

    private static float[] mergeOne(float[] w, List<PlacedAdapter> adapters) {
        StoredLinear s = adapters.get(0).at();
        int out = Math.toIntExact(s.outFeatures());
        int in = Math.toIntExact(s.inFeatures());
        double[] acc = new double[in];
        float[][] as = new float[adapters.size()][];
        float[][] bs = new float[adapters.size()][];
        for (int j = 0; j < as.length; j++) {
            as[j] = adapters.get(j).a().toArray();
            bs[j] = adapters.get(j).b().toArray();
        }
        for (int row = 0; row < out; row++) {
            boolean touched = false;
            java.util.Arrays.fill(acc, 0);
            for (int j = 0; j < as.length; j++) {
                PlacedAdapter a = adapters.get(j);
                long o = row - a.at().firstRow();
                if (o < 0 || o >= a.at().rows()) {
                    continue;
                }
                touched = true;
                addRow(acc, as[j], bs[j], a.rank(), a.scale(), (int) o);
            }
            if (!touched) {
                continue;
            }
            for (int i = 0; i < in; i++) {
                int idx = s.transposed() ? i * out + row : row * in + i;
                w[idx] = (float) (w[idx] + acc[i]);
            }
        }
        return w;
    }

    /** {@code acc += scale * B[o, :] A}. */
    private static void addRow(double[] acc, float[] a, float[] b, int r, double scale, int o) {
        int in = acc.length;
        for (int k = 0; k < r; k++) {
            double c = scale * b[o * r + k];
            if (c == 0) {
                continue;
            }
            int base = k * in;
            for (int i = 0; i < in; i++) {
                acc[i] += c * a[base + i];
            }
        }
    }
}
