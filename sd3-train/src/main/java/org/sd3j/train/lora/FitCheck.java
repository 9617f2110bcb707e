package org.sd3j.train.lora;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.ModelLoadException;
import org.sd3j.onnx.safetensors.TensorInfo;
import org.sd3j.onnx.safetensors.TensorSource;

/**
 * Checks a LoRA file's tensor shapes from its header, before any data is read: each A is [r, in] and its B
 * [out, r]; the q/k/v parts of one projection agree; and, given the model's weight shapes, every adapted weight
 * exists and in/out fit it. The first offending tensor (in natural name order) is reported with its expected and
 * found shapes. Internal.
 */
final class FitCheck {
    private FitCheck() {
    }

    static void check(Path file, TensorSource source, List<StoredAdapter> adapters, Map<String, long[]> modelShapes) {
        Map<String, long[]> partShapes = new HashMap<>();
        for (StoredAdapter s : adapters) {
            long[] a = source.info(s.aName()).shape();
            long[] b = source.info(s.bName()).shape();
            if (a.length != 2 || a[0] < 1) {
                throw fail(file, s.aName(), a, "[r >= 1, in]", "");
            }
            long r = a[0];
            if (b.length != 2 || b[1] != r) {
                throw fail(file, s.bName(), b, "[out, " + r + "]", " to match '" + s.aName() + "' "
                        + Arrays.toString(a));
            }
            if (s.alphaName() != null) {
                TensorInfo alpha = source.info(s.alphaName());
                if (alpha.elementCount() != 1) {
                    throw fail(file, s.alphaName(), alpha.shape(), "[] (a scalar)", "");
                }
            }
            if (modelShapes != null) {
                checkModel(file, s, a, b, modelShapes);
            }
            if (s.isSlice()) {
                long[] first = partShapes.putIfAbsent(s.original(), new long[] {a[1], b[0]});
                if (first != null && (first[0] != a[1] || first[1] != b[0])) {
                    throw new ModelLoadException(file, "LoRA tensors '" + s.aName() + "' " + Arrays.toString(a)
                            + " and '" + s.bName() + "' " + Arrays.toString(b)
                            + " do not fit the other q/k/v parts of '" + s.original() + "', which map " + first[0]
                            + " inputs to " + first[1] + " outputs");
                }
            }
        }
    }

    private static void checkModel(Path file, StoredAdapter s, long[] a, long[] b, Map<String, long[]> modelShapes) {
        String weight = s.original() + ".weight";
        long[] w = modelShapes.get(weight);
        if (w == null || w.length != 2) {
            throw new ModelLoadException(file, "LoRA tensor '" + s.aName() + "' adapts model weight '" + weight
                    + "', which the model " + (w == null ? "does not have" : "has with shape " + Arrays.toString(w)
                    + ", not a 2-D Linear weight"));
        }
        long out = s.isSlice() ? w[0] / 3 : w[0];
        String fit = " to fit model weight '" + weight + "' " + Arrays.toString(w)
                + (s.isSlice() ? " (its " + "qkv".charAt(s.part()) + " rows)" : "");
        if (a[1] != w[1]) {
            throw fail(file, s.aName(), a, Arrays.toString(new long[] {a[0], w[1]}), fit);
        }
        if (b[0] != out) {
            throw fail(file, s.bName(), b, Arrays.toString(new long[] {out, b[1]}), fit);
        }
    }

    private static ModelLoadException fail(Path file, String tensor, long[] found, String expected, String why) {
        return new ModelLoadException(file, "LoRA tensor '" + tensor + "' has shape " + Arrays.toString(found)
                + ", expected " + expected + why);
    }
}
