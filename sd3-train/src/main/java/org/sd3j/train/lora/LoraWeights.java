package org.sd3j.train.lora;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.sd3j.internal.Checks;
import org.sd3j.random.TorchGenerator;
import org.sd3j.tensor.Tensor;

/**
 * A set of LoRA adapters keyed by the adapted Linear's original checkpoint key without {@code .weight}, e.g.
 * {@code joint_blocks.0.x_block.attn.qkv} (see {@link LoraTargets}).
 *
 * <p><b>Fused qkv.</b> The graph, like Stability's checkpoints, has one fused q|k|v projection per attention;
 * its adapter is one {@link LoraAdapter} with A [r, D] and B [3D, r] whose rows are [q | k | v]. That form
 * expresses both layouts exactly: diffusers' three adapters on {@code to_q/to_k/to_v} with ranks r_q, r_k, r_v
 * are one fused adapter of rank r_q + r_k + r_v (A stacked, B block-diagonal; SPEC §7), and a fused adapter of
 * rank r is three diffusers adapters of rank r that share A and take B's row thirds. {@link LoraFiles} converts
 * in both directions without changing any delta.
 *
 * <p><b>Parameters.</b> {@link #parameters()} names the tensors {@code <key>.lora_A.weight} and
 * {@code <key>.lora_B.weight} (graph input names; the map AdamW updates). They are the adapters' own tensors, not
 * copies. Immutable structure; the tensor values are mutable and not thread-safe while written.
 */
public final class LoraWeights {
    /** Suffix of A's parameter name. */
    public static final String A_SUFFIX = ".lora_A.weight";
    /** Suffix of B's parameter name. */
    public static final String B_SUFFIX = ".lora_B.weight";

    private final Map<String, LoraAdapter> adapters;
    private final Map<String, Tensor> parameters;

    private LoraWeights(Map<String, LoraAdapter> adapters) {
        this.adapters = Collections.unmodifiableMap(adapters);
        Map<String, Tensor> params = new LinkedHashMap<>();
        adapters.forEach((key, ad) -> {
            params.put(aName(key), ad.a());
            params.put(bName(key), ad.b());
        });
        this.parameters = Collections.unmodifiableMap(params);
    }

    /**
     * Existing adapters (their tensors are taken by reference), in the map's order.
     *
     * @throws IllegalArgumentException for a null map, key or adapter, or an empty map
     */
    public static LoraWeights of(Map<String, LoraAdapter> adapters) {
        Checks.notNull(adapters, "adapters");
        if (adapters.isEmpty()) {
            throw new IllegalArgumentException("adapters must be non-empty, found 0 adapters");
        }
        Map<String, LoraAdapter> copy = new LinkedHashMap<>();
        adapters.forEach((k, a) -> copy.put(Checks.notNull(k, "adapter key"),
                Checks.notNull(a, "adapters['" + k + "']")));
        return new LoraWeights(copy);
    }

    /**
     * New adapters on {@code keys}, in that order: B = 0 [out, r], A [r, in] drawn per {@code spec.init()} from one
     * {@link TorchGenerator} seeded with {@code spec.seed()}, adapter after adapter. The draws are those of
     * {@code torch.manual_seed(seed)} followed by {@code torch.nn.init.normal_(A, std=1/r)} or
     * {@code kaiming_uniform_(A, a=sqrt(5))} on each A in turn (bit for bit for kaiming; for gaussian up to torch's
     * own AVX2-vs-generic kernel differences, see {@link TorchGenerator}).
     *
     * @param keys        original module keys (see {@link LoraTargets#select(Map)}), without duplicates
     * @param modelShapes the model's weight shapes by original name; {@code <key>.weight} must be 2-D [out, in]
     * @throws IllegalArgumentException for an empty or duplicated key list or a key without a 2-D weight
     */
    public static LoraWeights initialize(List<String> keys, Map<String, long[]> modelShapes, LoraSpec spec) {
        Checks.notNull(keys, "keys");
        Checks.notNull(modelShapes, "modelShapes");
        Checks.notNull(spec, "spec");
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("keys must be non-empty, found 0 keys");
        }
        TorchGenerator generator = new TorchGenerator(spec.seed());
        Map<String, LoraAdapter> adapters = new LinkedHashMap<>();
        int r = spec.rank();
        for (String key : keys) {
            long[] shape = modelShapes.get(key + ".weight");
            if (shape == null || shape.length != 2) {
                throw new IllegalArgumentException("keys must name 2-D model weights, found '" + key + "' with "
                        + (shape == null ? "no '" + key + ".weight' in modelShapes"
                                : "shape " + Arrays.toString(shape)));
            }
            if (adapters.containsKey(key)) {
                throw new IllegalArgumentException("keys must be unique, found '" + key + "' twice");
            }
            int out = Math.toIntExact(shape[0]);
            int in = Math.toIntExact(shape[1]);
            float[] a = new float[Math.multiplyExact(r, in)];
            draw(generator, spec.init(), a, r, in);
            adapters.put(key, new LoraAdapter(Tensor.of(a, r, in), Tensor.zeros(out, r), spec.alpha()));
        }
        return new LoraWeights(adapters);
    }

    private static void draw(TorchGenerator generator, LoraInit init, float[] a, int r, int fanIn) {
        if (init == LoraInit.GAUSSIAN) {
            generator.fillNormal(a, 0, a.length);
            // normal_(std) scales torch's float samples by the float std (one rounding, like its fma with mean 0).
            float std = (float) (1.0 / r);
            for (int i = 0; i < a.length; i++) {
                a[i] *= std;
            }
        } else {
            // torch.nn.init.kaiming_uniform_(a=sqrt(5)) in the order Python evaluates it: bound = 1/sqrt(fan_in).
            double slope = Math.sqrt(5);
            double gain = Math.sqrt(2.0 / (1 + slope * slope));
            double bound = Math.sqrt(3.0) * (gain / Math.sqrt(fanIn));
            generator.fillUniform(a, 0, a.length, (float) -bound, (float) bound);
        }
    }

    /** The adapters by original module key, in order (unmodifiable). */
    public Map<String, LoraAdapter> adapters() {
        return adapters;
    }

    /** The adapted module keys, in order. */
    public Set<String> keys() {
        return adapters.keySet();
    }

    /**
     * The adapter on {@code key}.
     *
     * @throws IllegalArgumentException if there is none
     */
    public LoraAdapter adapter(String key) {
        LoraAdapter a = adapters.get(key);
        if (a == null) {
            throw new IllegalArgumentException("key must be an adapted module such as '"
                    + adapters.keySet().iterator().next() + "', found '" + key + "'");
        }
        return a;
    }

    /** Number of adapters. */
    public int size() {
        return adapters.size();
    }

    /**
     * The trainable tensors: {@code <key>.lora_A.weight} -> A and {@code <key>.lora_B.weight} -> B per adapter, in
     * adapter order (unmodifiable map of the adapters' own tensors).
     */
    public Map<String, Tensor> parameters() {
        return parameters;
    }

    /** Total number of trainable floats. */
    public long parameterCount() {
        long n = 0;
        for (Tensor t : parameters.values()) {
            n += t.size();
        }
        return n;
    }

    /** {@code <key>.lora_A.weight}. */
    public static String aName(String key) {
        return key + A_SUFFIX;
    }

    /** {@code <key>.lora_B.weight}. */
    public static String bName(String key) {
        return key + B_SUFFIX;
    }

    @Override
    public String toString() {
        return "LoraWeights[" + adapters.size() + " adapters, " + parameterCount() + " parameters]";
    }
}
