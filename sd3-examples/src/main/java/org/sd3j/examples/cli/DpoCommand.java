package org.sd3j.examples.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.sd3j.Sd3Exception;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.train.DpoListener;
import org.sd3j.train.DpoMetrics;
import org.sd3j.train.DpoSettings;
import org.sd3j.train.DpoTrainer;
import org.sd3j.train.LoraTrainer;
import org.sd3j.train.LoraTrainingSettings;
import org.sd3j.train.TrainingProgress;
import org.sd3j.train.data.CacheMismatchException;
import org.sd3j.train.data.EncodingModel;
import org.sd3j.train.data.ModelFingerprint;
import org.sd3j.train.data.PairedDataset;
import org.sd3j.train.data.PreferencePairs;
import org.sd3j.train.lora.LoraLayout;
import org.sd3j.train.step.DpoStep;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sd3 dpo}: preference tuning of LoRA adapters on an SD3 checkpoint's MMDiT with Diffusion-DPO, from a
 * JSON-lines file of preference pairs. The same shape as {@code sd3 train}: the frozen encoders build (or reuse) a
 * cache of the pairs' latents and prompts, then the {@link DpoTrainer} runs with a progress line, checkpoints and
 * Ctrl-C resumption, and the LoRA file is written at the end with provenance.
 */
@Command(name = "dpo",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        customSynopsis = {
                "sd3 dpo --model CKPT --pairs FILE.jsonl --output LORA.safetensors",
                "    [--encoders DIR|FILE] [--cache DIR] [--resolution N] [--bucket-step N]",
                "    [--batch PAIRS] [--beta BETA] [--errors mean|sum] [--steps N] [--lr RATE] ...",
                "    (and every optimization option of sd3 train)",
        },
        description = {
                "Tune a LoRA for an SD3 checkpoint toward preferred images with Diffusion-DPO.",
                "",
                "Each line of the pairs file is {\"prompt\": ..., \"chosen\": IMAGE, \"rejected\": IMAGE} or "
                        + "Pick-a-Pic's {\"caption\": ..., \"jpg_0\": ..., \"jpg_1\": ..., \"label_0\": 1|0|0.5} "
                        + "(ties dropped); image paths are relative to the file. Each pair shares one noise and "
                        + "timestep; the reference is the checkpoint itself (the adapters start at zero, so the "
                        + "first loss is ln 2 = 0.693).",
        },
        footer = {
                "",
                "Example:",
                "  sd3 dpo --model base.safetensors --encoders base-onnx --pairs prefs.jsonl \\",
                "      --output prefer.safetensors --resolution 64 --bucket-step 64 --batch 8 \\",
                "      --rank 16 --targets all --lr 1e-4 --steps 500",
        })
final class DpoCommand implements Callable<Integer> {
    private static final Map<String, DpoStep.ErrorReduction> REDUCTIONS = TrainingOptions.ordered(
            "mean", DpoStep.ErrorReduction.MEAN, "sum", DpoStep.ErrorReduction.SUM);
    /** The cache's default folder beside the pairs file. */
    static final String DEFAULT_CACHE = ".sd3j-dpo-cache";

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", paramLabel = "CKPT", required = true,
            description = "The SD3 single-file checkpoint whose MMDiT gets the adapters (Stability's key layout).")
    Path model;

    @Option(names = "--pairs", paramLabel = "FILE.jsonl", required = true,
            description = "The preference pairs (JSON lines, see above).")
    Path pairs;

    @Option(names = {"-o", "--output"}, paramLabel = "LORA.safetensors", required = true,
            description = "The LoRA file to write at the end.")
    Path output;

    @Option(names = "--encoders", paramLabel = "DIR|FILE",
            description = "The model whose text encoders, tokenizers and VAE encode the pairs (default: --model).")
    Path encoders;

    @Option(names = "--cache", paramLabel = "DIR",
            description = "Where the pairs' latents and text encodings go (default: " + DEFAULT_CACHE + " beside "
                    + "the pairs file); reused while the model is the same and the pairs file is not newer.")
    Path cache;

    @Mixin
    BucketOptions size;

    @Option(names = "--batch", paramLabel = "PAIRS", defaultValue = "1",
            description = "Pairs per batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--beta", paramLabel = "BETA", defaultValue = "5000",
            description = "DPO's temperature (default: ${DEFAULT-VALUE}, Diffusion-DPO's for mean errors; divide by"
                    + " C*H*W of the latents with --errors sum).")
    double beta;

    @Option(names = "--errors", paramLabel = "mean|sum", defaultValue = "mean",
            description = "Reduce each sample's squared velocity errors by their mean or their sum "
                    + "(default: ${DEFAULT-VALUE}).")
    String errors;

    @Mixin
    TrainingOptions training;

    @Option(names = "--layout", paramLabel = "diffusers|kohya", defaultValue = "diffusers",
            description = "The LoRA file's key layout (default: ${DEFAULT-VALUE}).")
    String layout;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR",
            description = "Where the training checkpoint lives (default: OUTPUT.d).")
    Path checkpointDir;

    @Mixin
    RuntimeOptions runtime;

    /** Whether the error stream is a terminal (progress redrawn in place); tests set it. */
    boolean terminal = System.console() != null;

    @Override
    public Integer call() {
        OptionChecks checks = new OptionChecks(spec);
        if (!output.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".safetensors")) {
            throw checks.fail("--output", "a .safetensors file", output);
        }
        size.validate(checks);
        checks.atLeast("--batch", batch, 1);
        checks.positive("--beta", beta);
        training.validate(checks);
        LoraLayout fileLayout = checks.choice("--layout", layout, LoraOutput.LAYOUTS);
        DpoStep.ErrorReduction reduction = checks.choice("--errors", errors, REDUCTIONS);
        Path dir = checkpointDir != null ? checkpointDir : output.resolveSibling(output.getFileName() + ".d");
        LoraTrainingSettings lora = training.settings(dir, checks);
        DpoSettings settings = new DpoSettings(lora, beta, reduction);
        PreferencePairs preferences = PreferencePairs.read(pairs);
        LoraTrainer.check(model, lora);
        OnnxOptions onnx = runtime.resolve();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        err.println("Preference pairs " + preferences.file() + ": " + preferences.pairs().size() + " pairs"
                + (preferences.ties() > 0 ? ", " + preferences.ties() + " ties dropped" : ""));
        err.flush();
        try (CancelOnShutdown cancel = CancelOnShutdown.register()) {
            PairedDataset data = prepare(preferences, lora.seed(), onnx, err);
            try (DpoTrainer trainer = DpoTrainer.create(model, onnx, settings)) {
                err.println("Diffusion-DPO of " + trainer.lora().size() + " adapters of rank " + lora.lora().rank()
                        + " on " + data.pairs().size() + " pairs, beta " + Units.number(beta) + ", checkpoints in "
                        + dir);
                err.flush();
                TrainingProgressBar progress = new TrainingProgressBar(err, terminal, System::nanoTime,
                        trainer.checkpointFile());
                cancel.trackStop(progress::requestStop, TrainCommand.TRAINING_GRACE);
                Deque<DpoMetrics> recent = new ArrayDeque<>();
                trainer.train(data, new DpoListener() {
                    @Override
                    public void onStart(long firstStep, long totalSteps) {
                        progress.onStart(firstStep, totalSteps);
                    }

                    @Override
                    public void onStep(TrainingProgress p) {
                        progress.onStep(p);
                    }

                    @Override
                    public void onMetrics(DpoMetrics m) {
                        recent.addLast(m);
                        if (recent.size() > 20) {
                            recent.removeFirst();
                        }
                    }

                    @Override
                    public void onCheckpoint(long step, Path file) {
                        progress.onCheckpoint(step, file);
                    }

                    @Override
                    public boolean stopRequested() {
                        return progress.stopRequested();
                    }
                });
                progress.end();
                if (progress.stopping() && progress.step() < lora.steps()) {
                    err.println("Stopped at step " + progress.step() + " of " + lora.steps() + "; checkpoint "
                            + trainer.checkpointFile() + ". Run the same command again to resume from there.");
                    err.flush();
                    return TrainCommand.STOPPED;
                }
                LoraOutput.write(output, LoraOutput.weights(trainer.lora(), trainer.emaWeights()), fileLayout,
                        LoraOutput.provenance(model, preferences.file(), size.resolution, size.bucketStep, progress.step(),
                                lora, settings.toJson()));
                if (!recent.isEmpty()) {
                    out.println(String.format(Locale.ROOT, "Last %d steps: loss %.4f, implicit accuracy %.3f, "
                                    + "reward margin %.3f", recent.size(),
                            recent.stream().mapToDouble(DpoMetrics::loss).average().orElse(0),
                            recent.stream().mapToDouble(DpoMetrics::accuracy).average().orElse(0),
                            recent.stream().mapToDouble(DpoMetrics::margin).average().orElse(0)));
                }
                out.println("Wrote " + output + " (" + fileLayout.name().toLowerCase(Locale.ROOT) + " layout, "
                        + trainer.lora().size() + " adapters of rank " + lora.lora().rank() + ", "
                        + Units.longSeconds(progress.elapsed()) + ")");
                out.flush();
            }
        }
        return 0;
    }

    /** The pairs' cache: reused when complete, from the same model, and not older than the pairs file. */
    private PairedDataset prepare(PreferencePairs preferences, long seed, OnnxOptions onnx, PrintWriter err) {
        Path folder = cache != null ? cache : preferences.folder().resolve(DEFAULT_CACHE);
        Path encoderPath = encoders != null ? encoders : model;
        try (LoadedModel loaded = LoadedModel.open(encoderPath, onnx)) {
            EncodingModel frozen = EncodingModel.of(loaded.model());
            ModelFingerprint fingerprint = ModelFingerprint.of(frozen);
            Path pairsFile = folder.resolve(PairedDataset.PAIRS_FILE);
            if (Files.isRegularFile(pairsFile) && Files.isRegularFile(folder.resolve(TrainingCache.MANIFEST))
                    && !Files.getLastModifiedTime(preferences.file()).toInstant()
                    .isAfter(Files.getLastModifiedTime(pairsFile).toInstant())) {
                try {
                    PairedDataset reused = PairedDataset.open(folder, fingerprint, batch, seed);
                    err.println("Reusing the cache " + folder + " (" + reused.pairs().size() + " pairs)");
                    err.flush();
                    return reused;
                } catch (CacheMismatchException e) {
                    err.println("Rebuilding the cache " + folder + ": it was built from another model");
                }
            }
            err.println("Precomputing latents and text encodings of " + preferences.pairs().size() + " pairs into "
                    + folder + "...");
            err.flush();
            long start = System.nanoTime();
            PairedDataset built = PairedDataset.build(preferences, frozen, folder,
                    size.buckets(), batch, seed);
            err.println("Cached " + built.pairs().size() + " pairs in "
                    + Units.seconds(Duration.ofNanos(System.nanoTime() - start)));
            err.flush();
            return built;
        } catch (java.io.IOException e) {
            throw new Sd3Exception("Cannot read the times of " + preferences.file() + ": " + e.getMessage(), e);
        }
    }
}
