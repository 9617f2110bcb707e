package org.sd3j.onnx.lora;

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
 * [out, r]; the q/k/v parts of one projection agree; and, given a model part's weight shapes, every adapted weight
 * exists and in/out fit it. The first offending tensor (in natural name order) is reported with its expected and
 * found shapes. Stateless.
 */
public final class LoraFit {
    private LoraFit() {
    }

    /**
     * @param modules the adapters to check (e.g. {@link LoraScan#modules()})
     * @param shapes  per model part, its Linear weight shapes by canonical name ({@code <module>.weight} ->
     *                [out, in], fused qkv as [3D, D]); a part without an entry is checked for internal consistency
     *                only
     * @throws ModelLoadException naming the file and the first offending tensor
     */
    public static void check(Path file, TensorSource source, List<LoraModule> modules,
                             Map<LoraComponent, Map<String, long[]>> shapes) {
        Map<String, long[]> partShapes = new HashMap<>();
        for (LoraModule s : modules) {
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
            Map<String, long[]> model = shapes.get(s.component());
            if (model != null) {
                checkModel(file, s, a, b, model);
            }
            if (s.isSlice()) {
                long[] first = partShapes.putIfAbsent(s.module(), new long[] {a[1], b[0]});
                if (first != null && (first[0] != a[1] || first[1] != b[0])) {
                    throw new ModelLoadException(file, "LoRA tensors '" + s.aName() + "' " + Arrays.toString(a)
                            + " and '" + s.bName() + "' " + Arrays.toString(b)
                            + " do not fit the other q/k/v parts of '" + s.module() + "', which map " + first[0]
                            + " inputs to " + first[1] + " outputs");
                }
            }
        }
    }

    private static void checkModel(Path file, LoraModule s, long[] a, long[] b, Map<String, long[]> model) {
        String weight = s.module() + ".weight";
        String owner = s.component() == LoraComponent.MMDIT ? "" : " of the " + s.component().part() + " encoder";
        long[] w = model.get(weight);
        if (w == null || w.length != 2) {
            throw new ModelLoadException(file, "LoRA tensor '" + s.aName() + "' adapts model weight '" + weight
                    + "'" + owner + ", which the model " + (w == null ? "does not have"
                            : "has with shape " + Arrays.toString(w) + ", not a 2-D Linear weight"));
        }
        long out = s.isSlice() ? w[0] / 3 : w[0];
        String fit = " to fit model weight '" + weight + "' " + Arrays.toString(w) + owner
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
