package org.sd3j.examples.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import org.sd3j.Sd3Exception;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.train.LoraTrainer;
import org.sd3j.train.LoraTrainingSettings;
import org.sd3j.train.data.CachedDataset;
import org.sd3j.train.data.EncodingModel;
import org.sd3j.train.data.ImageCaptionDataset;
import org.sd3j.train.data.ModelFingerprint;
import org.sd3j.train.data.PrecomputeCache;
import org.sd3j.train.lora.LoraLayout;
import org.sd3j.train.lora.LoraWeights;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code sd3 train}: LoRA training of an SD3 checkpoint's MMDiT on a folder of captioned images. Loads the frozen
 * encoders and VAE ({@code --encoders}, default the checkpoint), builds or reuses the precompute cache
 * ({@link TrainingCache}), closes them, creates the {@link LoraTrainer}, trains with a progress line
 * ({@link TrainingProgressBar}) and writes the LoRA file ({@link LoraOutput}). Ctrl-C stops after the current step
 * with a checkpoint; running the same command again resumes from it.
 */
@Command(name = "train",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        customSynopsis = {
                "sd3 train --model CKPT --data DIR --output LORA.safetensors",
                "    [--encoders DIR|FILE] [--cache DIR] [--resolution N] [--bucket-step N]",
                "    [--steps N] [--batch N] [--accumulation N] [--lr RATE] [--warmup STEPS]",
                "    [--schedule constant|cosine] [--rank R] [--alpha ALPHA]",
                "    [--targets attention|kohya|all|GLOB...] [--layout diffusers|kohya]",
                "    [--loss velocity|preconditioned] [--shift SHIFT] [--caption-dropout P]",
                "    [--encoder-dropout P] [--ema DECAY] [--seed SEED] [--checkpoint-dir DIR]",
                "    [--checkpoint-every STEPS] [--export-graph F.onnx [--export-only]]",
                "    [--cuda [ID] | --cuda-fallback] [--threads N]",
        },
        description = {
                "Train a LoRA for an SD3 checkpoint on a folder of captioned images.",
                "",
                "The images are encoded once into a cache (latents and text encodings, reused by later runs); "
                        + "training then reads only the cache. A checkpoint is written every --checkpoint-every "
                        + "steps, at the end and on Ctrl-C; running the same command again resumes from it. The "
                        + "LoRA file is written at the end, in the diffusers or kohya layout, with the run's "
                        + "settings in its metadata.",
        },
        footer = {
                "",
                "Examples:",
                "  sd3 train --model sd3_medium.safetensors --encoders sd3m-onnx \\",
                "      --data photos --output fox.safetensors",
                "  sd3 train --model sd3_medium.safetensors --encoders sd3m-onnx \\",
                "      --data photos --output fox.safetensors --resolution 1024 --steps 2000 \\",
                "      --rank 16 --lr 2e-4 --schedule cosine --layout kohya",
                "  sd3 train --model sd3_medium.safetensors --export-graph step.onnx \\",
                "      --export-only",
        })
final class TrainCommand implements Callable<Integer> {
    /** The exit code of a run stopped by Ctrl-C (128 + SIGINT, what shells report for it). */
    static final int STOPPED = 130;
    /**
     * How long Ctrl-C waits for the step in flight and its checkpoint: a step of a large model on the CPU can take
     * minutes, and stopping mid-step would lose every step since the last checkpoint.
     */
    static final Duration TRAINING_GRACE = Duration.ofMinutes(10);

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", paramLabel = "CKPT", required = true,
            description = "The SD3 single-file checkpoint whose MMDiT is trained (Stability's key layout, e.g. "
                    + "sd3_medium.safetensors).")
    Path model;

    @Option(names = {"-o", "--output"}, paramLabel = "LORA.safetensors",
            description = "The LoRA file to write at the end.")
    Path output;

    @Option(names = "--encoders", paramLabel = "DIR|FILE",
            description = "The model whose text encoders, tokenizers and VAE encode the dataset: an ONNX folder, a "
                    + "diffusers folder or a checkpoint (default: --model; a single-file checkpoint has no "
                    + "tokenizers, so usually a folder).")
    Path encoders;

    @Mixin
    DataOptions data;

    @Mixin
    TrainingOptions training;

    @Option(names = "--layout", paramLabel = "diffusers|kohya", defaultValue = "diffusers",
            description = "The LoRA file's key layout: diffusers (PEFT names, as diffusers writes them) or kohya "
                    + "(sd-scripts, ComfyUI) (default: ${DEFAULT-VALUE}).")
    String layout;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR",
            description = "Where the training checkpoint lives (default: OUTPUT.d, e.g. fox.safetensors.d).")
    Path checkpointDir;

    @Option(names = "--export-graph", paramLabel = "F.onnx",
            description = "Also write the training step graph (forward, loss and LoRA gradients) to F.onnx, with "
                    + "the frozen weights in F.onnx_data, for Netron or onnx tools.")
    Path exportGraph;

    @Option(names = "--export-only",
            description = "With --export-graph: write the graph and exit (no --data or --output needed).")
    boolean exportOnly;

    @Mixin
    RuntimeOptions runtime;

    /** Whether the error stream is a terminal (progress redrawn in place); tests set it. */
    boolean terminal = System.console() != null;

    /** Given the action that stops training after its current step, once training starts; tests call it. */
    Consumer<Runnable> stopHandle = stop -> {
    };

    @Override
    public Integer call() {
        OptionChecks checks = new OptionChecks(spec);
        validate(checks);
        LoraTrainingSettings settings = training.settings(checkpointDir(), checks);
        LoraLayout fileLayout = checks.choice("--layout", layout, LoraOutput.LAYOUTS);
        if (!exportOnly && !Files.isDirectory(data.folder)) {
            throw new Sd3Exception("--data " + data.folder + ": no such folder");
        }
        // Headers only: a checkpoint that cannot be trained fails now, not after the precompute pass.
        LoraTrainer.check(model, settings);
        OnnxOptions onnx = runtime.resolve();

        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (CancelOnShutdown cancel = CancelOnShutdown.register()) {
            if (exportOnly) {
                try (LoraTrainer trainer = LoraTrainer.create(model, onnx, settings)) {
                    export(trainer, out);
                }
                return 0;
            }
            CachedDataset batches = prepareData(settings, onnx, err);
            try (LoraTrainer trainer = LoraTrainer.create(model, onnx, settings)) {
                LoraWeights lora = trainer.lora();
                err.println("Training " + lora.size() + " adapters of rank " + settings.lora().rank() + " ("
                        + Units.count(lora.parameterCount()) + " parameters) on " + model.getFileName()
                        + ", checkpoints in " + settings.checkpointDir());
                err.flush();
                if (exportGraph != null) {
                    export(trainer, out);
                }
                TrainingProgressBar progress = new TrainingProgressBar(err, terminal, System::nanoTime,
                        trainer.checkpointFile());
                Runnable stop = progress::requestStop;
                cancel.trackStop(stop, TRAINING_GRACE);
                stopHandle.accept(stop);
                trainer.train(batches, progress);
                progress.end();
                if (progress.stopping() && progress.step() < settings.steps()) {
                    err.println("Stopped at step " + progress.step() + " of " + settings.steps() + "; checkpoint "
                            + trainer.checkpointFile() + ". Run the same command again to resume from there.");
                    err.flush();
                    return STOPPED;
                }
                LoraOutput.write(output, LoraOutput.weights(trainer), fileLayout, LoraOutput.provenance(model,
                        data.folder, data.size.resolution, data.size.bucketStep, progress.step(), settings));
                summary(progress, settings, lora.size(), fileLayout, out);
            }
        }
        return 0;
    }

    /** Usage errors, before any work: option values, options that go together. */
    private void validate(OptionChecks checks) {
        if (exportOnly && exportGraph == null) {
            throw new ParameterException(spec.commandLine(), "--export-only needs --export-graph F.onnx");
        }
        if (!exportOnly && data.folder == null) {
            throw new ParameterException(spec.commandLine(), "Missing required option: '--data=DIR'");
        }
        if (!exportOnly && output == null) {
            throw new ParameterException(spec.commandLine(), "Missing required option: '--output=LORA.safetensors'");
        }
        if (output != null && !output.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".safetensors")) {
            throw checks.fail("--output", "a .safetensors file", output);
        }
        data.validate(checks);
        training.validate(checks);
        checks.choice("--layout", layout, LoraOutput.LAYOUTS);
    }

    /** {@code --checkpoint-dir}, else beside the output ({@code OUTPUT.d}) or, exporting only, the graph. */
    Path checkpointDir() {
        if (checkpointDir != null) {
            return checkpointDir;
        }
        Path base = output != null ? output : exportGraph;
        return base.resolveSibling(base.getFileName() + ".d");
    }

    /**
     * Scans the dataset, loads the encoders, builds or reuses the cache and opens its batches. The encoders are
     * closed before training: the batches need only the cache, and their memory is then the trainer's.
     */
    private CachedDataset prepareData(LoraTrainingSettings settings, OnnxOptions onnx, PrintWriter err) {
        ImageCaptionDataset dataset = ImageCaptionDataset.scan(data.folder, data.buckets());
        err.println(describe(dataset));
        err.flush();
        Path encoderPath = encoders != null ? encoders : model;
        long loadStart = System.nanoTime();
        try (LoadedModel loaded = LoadedModel.open(encoderPath, onnx)) {
            err.println("Loaded " + loaded.describe() + " in "
                    + Units.seconds(Duration.ofNanos(System.nanoTime() - loadStart)));
            err.flush();
            EncodingModel frozen = EncodingModel.of(loaded.model());
            ModelFingerprint fingerprint = ModelFingerprint.of(frozen);
            PrecomputeCache cache = TrainingCache.prepare(dataset, frozen, fingerprint, data.cacheFolder(), err);
            return CachedDataset.open(cache, fingerprint, data.batches(settings.seed()));
        } catch (RuntimeException e) {
            if (GenerationRunner.lacksTokenizer(e)) {
                throw new Sd3Exception(encoderPath + " has no tokenizers for its text encoders (a single-file "
                        + "checkpoint carries none): give --encoders DIR, an ONNX folder with tokenizers (what "
                        + "'sd3 convert CHECKPOINT --tokenizers DIR OUT' writes) or a diffusers folder", e);
            }
            throw e;
        }
    }

    /** {@code Dataset photos: 24 images in 2 buckets (512x512: 20, 448x576: 4), 1 skipped (missing caption: 1)}. */
    static String describe(ImageCaptionDataset dataset) {
        String buckets = dataset.bucketCounts().entrySet().stream()
                .map(e -> e.getKey() + ": " + e.getValue()).collect(Collectors.joining(", "));
        int skipped = dataset.skipped().size();
        String skips = dataset.skipCounts().entrySet().stream().filter(e -> e.getValue() > 0)
                .map(e -> e.getKey().label() + ": " + e.getValue()).collect(Collectors.joining(", "));
        int n = dataset.bucketCounts().size();
        return "Dataset " + dataset.folder() + ": " + dataset.size() + " images in " + n + " bucket"
                + (n == 1 ? "" : "s") + " (" + buckets + ")" + (skipped == 0 ? "" : ", " + skipped + " skipped ("
                + skips + ")");
    }

    private void export(LoraTrainer trainer, PrintWriter out) {
        Path parent = exportGraph.toAbsolutePath().getParent();
        try {
            Files.createDirectories(parent);
        } catch (java.io.IOException e) {
            throw new Sd3Exception("Cannot create " + parent + ": " + e.getMessage(), e);
        }
        trainer.exportStepGraph(exportGraph);
        out.println("Wrote the step graph " + exportGraph + " (weights in " + exportGraph.getFileName()
                + "_data): inputs x0, noise, sigma, encoder_hidden_states, pooled_projections and "
                + trainer.stepGraphTrainableInputs().size() + " LoRA matrices; outputs loss and their gradients");
        out.flush();
    }

    private void summary(TrainingProgressBar progress, LoraTrainingSettings settings, int adapters,
                         LoraLayout fileLayout, PrintWriter out) {
        if (progress.stepsRun() == 0) {
            out.println("Nothing to train: the checkpoint " + LoraTrainer.CHECKPOINT_FILE + " in "
                    + settings.checkpointDir() + " is at step " + progress.step() + (progress.step() > settings.steps()
                    ? ", past --steps " + settings.steps() + "; its adapters are written as they are" : ""));
        } else {
            out.println("Trained steps " + (progress.firstStep() + 1) + "-" + progress.step() + " of "
                    + settings.steps() + " in " + Units.longSeconds(progress.elapsed()) + String.format(Locale.ROOT,
                    ", loss %.4f (smoothed), %.4f (last step)", progress.smoothedLoss(), progress.lastLoss()));
        }
        out.println("Wrote " + output + " (" + fileLayout.name().toLowerCase(Locale.ROOT) + " layout, "
                + adapters + " adapters of rank " + settings.lora().rank() + ", alpha "
                + Units.number(settings.lora().alpha()) + (settings.emaDecay() > 0 ? ", EMA weights" : "") + ")");
        out.flush();
    }
}
