package org.sd3j.train.optim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;

/** Checks shared by the optimizer classes on named tensor sets. Internal. */
final class TensorMaps {
    private TensorMaps() {
    }

    /** A defensive, ordered copy of {@code tensors} (same tensor objects), rejecting null names and values. */
    static Map<String, Tensor> ordered(Map<String, Tensor> tensors, String what) {
        Checks.notNull(tensors, what);
        Map<String, Tensor> out = new LinkedHashMap<>();
        tensors.forEach((name, t) -> out.put(Checks.notNull(name, what + " name"),
                Checks.notNull(t, what + "['" + name + "']")));
        return out;
    }

    /**
     * Checks that {@code given} has exactly the names of {@code reference}, each with the same shape; nothing is
     * modified, so a failed check leaves every tensor as it was.
     */
    static void requireSameLayout(Map<String, Tensor> reference, Map<String, Tensor> given, String what) {
        Checks.notNull(given, what);
        if (!given.keySet().equals(reference.keySet())) {
            List<String> missing = new ArrayList<>(reference.keySet());
            missing.removeAll(given.keySet());
            List<String> unexpected = new ArrayList<>(given.keySet());
            unexpected.removeAll(reference.keySet());
            throw new IllegalArgumentException(what + " must have exactly the names " + abbreviate(reference.keySet())
                    + ", found missing " + abbreviate(missing) + " and unexpected " + abbreviate(unexpected));
        }
        for (Map.Entry<String, Tensor> e : reference.entrySet()) {
            Tensor t = Checks.notNull(given.get(e.getKey()), what + "['" + e.getKey() + "']");
            if (!Arrays.equals(t.shape(), e.getValue().shape())) {
                throw new IllegalArgumentException(what + "['" + e.getKey() + "'] must have shape "
                        + Arrays.toString(e.getValue().shape()) + ", found " + Arrays.toString(t.shape()));
            }
        }
    }

    /** The names, at most 8 of them, for messages about large parameter sets. */
    static String abbreviate(java.util.Collection<String> names) {
        List<String> list = new ArrayList<>(names);
        if (list.size() <= 8) {
            return list.toString();
        }
        return list.subList(0, 8).toString().replace("]", ", ... (" + list.size() + " in all)]");
    }
}
