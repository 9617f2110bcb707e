package org.sd3j.train;

import java.util.LinkedHashMap;
import java.util.Map;

import org.sd3j.internal.Checks;
import org.sd3j.train.step.DpoStep;

/**
 * A {@link DpoTrainer} run: the LoRA adapters and training settings of {@link LoraTrainingSettings} (the SD3 paper's
 * DPO stage: rank 128 on every Linear), plus Diffusion-DPO's temperature and error reduction (SPEC §8). Immutable.
 *
 * @param lora      adapters, optimizer, schedule, timesteps, steps, seed, checkpoints; its loss form is not used
 *                  (DPO compares plain velocity errors)
 * @param beta      the temperature; 5000 for mean-reduced errors as the Diffusion-DPO code, divided by C*H*W for
 *                  sum-reduced ones
 * @param reduction how a sample's squared errors become one number
 */
public record DpoSettings(LoraTrainingSettings lora, double beta, DpoStep.ErrorReduction reduction) {
    /** Diffusion-DPO's beta for mean-reduced errors. */
    public static final double DEFAULT_BETA = 5000;

    public DpoSettings {
        Checks.notNull(lora, "lora");
        Checks.notNull(reduction, "reduction");
        if (!(beta > 0) || Double.isInfinite(beta)) {
            throw Checks.fail("beta", "finite and > 0", beta);
        }
    }

    /** {@code lora} with beta 5000 and mean-reduced errors. */
    public static DpoSettings of(LoraTrainingSettings lora) {
        return new DpoSettings(lora, DEFAULT_BETA, DpoStep.ErrorReduction.MEAN);
    }

    public DpoSettings withBeta(double beta) {
        return new DpoSettings(lora, beta, reduction);
    }

    public DpoSettings withReduction(DpoStep.ErrorReduction reduction) {
        return new DpoSettings(lora, beta, reduction);
    }

    /** The run's configuration as JSON, stored in checkpoints and LoRA provenance. */
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", "diffusion-dpo");
        m.put("beta", beta);
        m.put("error_reduction", reduction.name());
        m.putAll(lora.toMap());
        return TrainingSettings.json(m);
    }
}
