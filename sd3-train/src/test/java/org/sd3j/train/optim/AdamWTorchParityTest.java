package org.sd3j.train.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.TensorAssertions;

/**
 * AdamW against {@code torch.optim.AdamW} (PyTorch 1.13.1): parameters after every step and the final moments,
 * compared bit for bit. Cases: custom lr/weight decay with a learning rate changing per step; SPEC §7 defaults;
 * other betas and eps.
 */
class AdamWTorchParityTest {

    @ParameterizedTest
    @ValueSource(strings = {"custom", "defaults", "betas"})
    void matchesTorchBitForBit(String name) {
        try (TorchGolden golden = TorchGolden.open()) {
            String c = "adamw/" + name + "/";
            double[] h = golden.doubles(c + "hparams");
            double[] lrs = golden.doubles(c + "lr");
            Map<String, Tensor> params = golden.group(c + "param0/");
            AdamW adamW = AdamW.create(params, new AdamWSettings(lrs[0], h[0], h[1], h[2], h[3]));
            for (int step = 0; step < lrs.length; step++) {
                adamW.step(golden.group(c + "grad/" + step + "/"), lrs[step]);
                Map<String, Tensor> expected = golden.group(c + "param/" + step + "/");
                for (String p : params.keySet()) {
                    TensorAssertions.assertBitEqual(params.get(p), expected.get(p), name + " step " + step + " "
                            + p);
                }
            }
            assertThat(adamW.stepCount()).isEqualTo(lrs.length);
            Map<String, Tensor> state = adamW.state().tensors();
            golden.group(c + "exp_avg/")
                    .forEach((p, t) -> TensorAssertions.assertBitEqual(state.get("exp_avg/" + p), t, p));
            golden.group(c + "exp_avg_sq/")
                    .forEach((p, t) -> TensorAssertions.assertBitEqual(state.get("exp_avg_sq/" + p), t, p));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"custom", "defaults", "betas"})
    void agreesWithAnIndependentDoublePrecisionAdamW(String name) {
        // The same formulas evaluated in double (no float rounding, no fused multiply-adds): the float32 result
        // must stay within float rounding of it. Guards the formulas themselves, independently of torch.
        try (TorchGolden golden = TorchGolden.open()) {
            String c = "adamw/" + name + "/";
            double[] h = golden.doubles(c + "hparams");
            double[] lrs = golden.doubles(c + "lr");
            Map<String, Tensor> params = golden.group(c + "param0/");
            Map<String, double[]> p = new LinkedHashMap<>();
            Map<String, double[]> m = new LinkedHashMap<>();
            Map<String, double[]> v = new LinkedHashMap<>();
            params.forEach((k, t) -> {
                p.put(k, toDoubles(t));
                m.put(k, new double[t.size()]);
                v.put(k, new double[t.size()]);
            });
            AdamW adamW = AdamW.create(params, new AdamWSettings(lrs[0], h[0], h[1], h[2], h[3]));
            for (int step = 0; step < lrs.length; step++) {
                Map<String, Tensor> grads = golden.group(c + "grad/" + step + "/");
                adamW.step(grads, lrs[step]);
                int t = step + 1;
                for (String k : p.keySet()) {
                    double[] pk = p.get(k);
                    double[] mk = m.get(k);
                    double[] vk = v.get(k);
                    for (int i = 0; i < pk.length; i++) {
                        double g = grads.get(k).get(i);
                        pk[i] *= 1 - lrs[step] * h[3];
                        mk[i] = h[0] * mk[i] + (1 - h[0]) * g;
                        vk[i] = h[1] * vk[i] + (1 - h[1]) * g * g;
                        double mHat = mk[i] / (1 - Math.pow(h[0], t));
                        double vHat = vk[i] / (1 - Math.pow(h[1], t));
                        pk[i] -= lrs[step] * mHat / (Math.sqrt(vHat) + h[2]);
                    }
                }
            }
            params.forEach((k, t) -> {
                for (int i = 0; i < t.size(); i++) {
                    double expected = p.get(k)[i];
                    assertThat((double) t.get(i)).as(k + "[" + i + "]")
                            .isCloseTo(expected, within(2e-6 * Math.max(1, Math.abs(expected))));
                }
            });
        }
    }

    private static double[] toDoubles(Tensor t) {
        double[] out = new double[t.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.get(i);
        }
        return out;
    }
}
