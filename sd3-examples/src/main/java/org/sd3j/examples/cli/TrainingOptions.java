package org.sd3j.examples.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.schedule.TimeShift;
import org.sd3j.train.LoraTrainingSettings;
import org.sd3j.train.lora.LoraInit;
import org.sd3j.train.lora.LoraSpec;
import org.sd3j.train.lora.LoraTargets;
import org.sd3j.train.optim.AdamWSettings;
import org.sd3j.train.optim.LearningRateSchedule;
import org.sd3j.train.step.RectifiedFlowStep;
import org.sd3j.train.step.TimestepSampler;

import picocli.CommandLine.Option;

/**
 * The optimization options of {@code sd3 train} (a picocli mixin): steps, learning rate and schedule, the adapters'
 * rank, alpha and targets, the loss, timestep shift, EMA, seed and checkpoint interval; {@link #settings} turns
 * them into {@link LoraTrainingSettings}.
 */
final class TrainingOptions {
    private static final Map<String, Boolean> SCHEDULES = ordered("constant", false, "cosine", true);
    private static final Map<String, RectifiedFlowStep.Loss> LOSSES = ordered(
            "velocity", RectifiedFlowStep.Loss.VELOCITY_MSE, "preconditioned", RectifiedFlowStep.Loss.PRECONDITIONED);
    private static final Map<String, LoraTargets> PRESETS = ordered(
            "attention", LoraTargets.diffusersDefault(), "kohya", LoraTargets.kohya(), "all", LoraTargets.allLinear());

    @Option(names = "--steps", paramLabel = "N", defaultValue = "1000",
            description = "Optimizer steps in all; a resumed run goes on up to N (default: ${DEFAULT-VALUE}).")
    long steps;

    @Option(names = "--accumulation", paramLabel = "N", defaultValue = "1",
            description = "Batches whose gradients are averaged per optimizer step (default: ${DEFAULT-VALUE}).")
    int accumulation;

    @Option(names = "--lr", paramLabel = "RATE", defaultValue = "1e-4",
            description = "AdamW's peak learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(names = "--warmup", paramLabel = "STEPS", defaultValue = "100",
            description = "Steps of linear learning-rate warm-up from 0 (default: ${DEFAULT-VALUE}).")
    long warmup;

    @Option(names = "--schedule", paramLabel = "constant|cosine", defaultValue = "constant",
            description = "After the warm-up: the peak rate, or a half cosine down to 0 at the last step "
                    + "(default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--rank", paramLabel = "R", defaultValue = "4",
            description = "The adapters' rank (default: ${DEFAULT-VALUE}).")
    int rank;

    @Option(names = "--alpha", paramLabel = "ALPHA",
            description = "The adapters' alpha: their output is scaled by ALPHA / R (default: the rank, scale 1, "
                    + "as diffusers).")
    Double alpha;

    @Option(names = "--targets", paramLabel = "attention|kohya|all|GLOB...", arity = "1..*", split = ",",
            hideParamSyntax = true, defaultValue = "attention",
            description = "The Linear layers that get adapters: attention (the attention projections of both "
                    + "streams, diffusers' default), kohya (every Linear in the joint blocks), all (every Linear), "
                    + "or globs over the checkpoint's module names, '*' within a dot-separated part, '**' across "
                    + "parts (e.g. 'joint_blocks.*.x_block.attn.*'), several separated by commas or spaces. "
                    + "Default: ${DEFAULT-VALUE}.")
    List<String> targets;

    @Option(names = "--loss", paramLabel = "velocity|preconditioned", defaultValue = "velocity",
            description = "velocity: the MSE of the predicted velocity against noise - x0 (the SD3 paper's); "
                    + "preconditioned: that error weighted by sigma^2, equal to diffusers' and kohya's x0 loss "
                    + "(default: ${DEFAULT-VALUE}).")
    String loss;

    @Option(names = "--shift", paramLabel = "SHIFT", defaultValue = "3.0",
            description = "Time shift of the logit-normal timestep density (default: ${DEFAULT-VALUE}, SD3's).")
    double shift;

    @Option(names = "--ema", paramLabel = "DECAY",
            description = "Keep an exponential moving average of the adapters with this decay (e.g. 0.999) and "
                    + "write it instead of the last weights (default: no EMA).")
    Double ema;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "0",
            description = "Seed of the adapters' initialization, the batch order, dropout and the noise "
                    + "(default: ${DEFAULT-VALUE}); a resumed run must keep it.")
    long seed;

    @Option(names = "--checkpoint-every", paramLabel = "STEPS", defaultValue = "500",
            description = "Steps between checkpoints; one is also written at the end and on Ctrl-C "
                    + "(default: ${DEFAULT-VALUE}).")
    long checkpointEvery;

    /** Checks every value against what the library accepts, naming the option. */
    void validate(OptionChecks checks) {
        checks.atLeast("--steps", steps, 1);
        checks.atLeast("--accumulation", accumulation, 1);
        checks.positive("--lr", learningRate);
        checks.atLeast("--warmup", warmup, 0);
        if (checks.choice("--schedule", schedule, SCHEDULES) && warmup >= steps) {
            throw checks.fail("--warmup", "< --steps (" + steps + ") with --schedule cosine", warmup);
        }
        checks.atLeast("--rank", rank, 1);
        if (alpha != null) {
            checks.positive("--alpha", alpha);
        }
        targets(checks);
        checks.choice("--loss", loss, LOSSES);
        checks.positive("--shift", shift);
        if (ema != null && !(ema > 0 && ema < 1)) {
            throw checks.fail("--ema", "in (0, 1)", ema);
        }
        checks.atLeast("--checkpoint-every", checkpointEvery, 1);
    }

    /** The targets: one preset, or globs over original module names. */
    LoraTargets targets(OptionChecks checks) {
        if (targets.size() == 1 && PRESETS.containsKey(targets.get(0))) {
            return PRESETS.get(targets.get(0));
        }
        for (String t : targets) {
            if (PRESETS.containsKey(t) || t.isBlank()) {
                throw checks.fail("--targets", "one of " + List.copyOf(PRESETS.keySet()) + " alone, or globs",
                        String.join(",", targets));
            }
        }
        return LoraTargets.glob(LoraTargets.NameStyle.ORIGINAL, targets.toArray(String[]::new));
    }

    /** The settings of a run checkpointed in {@code checkpointDir}; call {@link #validate} first. */
    LoraTrainingSettings settings(Path checkpointDir, OptionChecks checks) {
        boolean cosine = checks.choice("--schedule", schedule, SCHEDULES);
        LearningRateSchedule lr = cosine ? LearningRateSchedule.warmupCosine(learningRate, warmup, steps, 0)
                : LearningRateSchedule.warmupConstant(learningRate, warmup);
        LoraTrainingSettings.Builder b = LoraTrainingSettings.builder(steps, checkpointDir)
                .targets(targets(checks))
                .lora(new LoraSpec(rank, alpha != null ? alpha : rank, LoraInit.GAUSSIAN, seed))
                .optimizer(AdamWSettings.defaults().withLearningRate(learningRate))
                .schedule(lr)
                .accumulation(accumulation)
                .timesteps(TimestepSampler.logitNormal(0, 1, TimeShift.of(shift)))
                .loss(checks.choice("--loss", loss, LOSSES))
                .seed(seed)
                .checkpointEvery(checkpointEvery);
        if (ema != null) {
            b.emaDecay(ema);
        }
        return b.build();
    }

    /** A lookup table that lists its keys in the order given (for "must be one of [...]" messages). */
    @SuppressWarnings("unchecked")
    static <T> Map<String, T> ordered(Object... keysAndValues) {
        Map<String, T> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], (T) keysAndValues[i + 1]);
        }
        return m;
    }
}
