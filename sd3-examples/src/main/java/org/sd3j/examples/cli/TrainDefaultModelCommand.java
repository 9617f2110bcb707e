package org.sd3j.examples.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.sd3j.examples.defaultmodel.DefaultModelRecipe;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.train.TrainingProgress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code sd3 train-default-model}: retrains the bundled default model from scratch ({@link DefaultModelRecipe}),
 * resumably: run it again after an interruption and it continues where it stopped.
 */
@Command(name = "train-default-model",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
                "Train the bundled default model from scratch: generate captioned shape images, train the "
                        + "autoencoder, precompute latents and text encodings, train the MMDiT with rectified flow, "
                        + "and write the trained weights (what the build turns into the bundled model).",
                "",
                "Every stage keeps its output in the work folder and is skipped when that exists; the training "
                        + "stages checkpoint, so Ctrl-C (or a lost session) loses little: run the same command "
                        + "again to continue.",
        },
        footer = {
                "",
                "Example (the shipped model):",
                "  sd3 train-default-model --work target/default-model-run \\",
                "      --output sd3-examples/" + DefaultModelRecipe.SHIPPED_WEIGHTS,
        })
final class TrainDefaultModelCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--work", paramLabel = "DIR", required = true,
            description = "The work folder (data, caches, checkpoints); created if missing.")
    Path work;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Where to write the trained MMDiT and VAE weights (safetensors); needed unless --until "
                    + "stops before the MMDiT.")
    Path output;

    @Option(names = "--images", paramLabel = "N", description = "Training images (default: 20000).")
    Integer images;

    @Option(names = "--vae-steps", paramLabel = "N", description = "Autoencoder steps (default: 2700).")
    Long vaeSteps;

    @Option(names = "--decoder-steps", paramLabel = "N",
            description = "Then decoder-only fine-tuning steps; the encoder and its latents stay (default: 2000; 0 "
                    + "skips it).")
    Long decoderSteps;

    @Option(names = "--steps", paramLabel = "N", description = "MMDiT steps (default: 68000).")
    Long steps;

    @Option(names = "--batch", paramLabel = "N", description = "MMDiT samples per step (default: 32).")
    Integer batch;

    @Option(names = "--continue-from", paramLabel = "FILE",
            description = "Start from earlier trained weights (e.g. the shipped ones) instead of from scratch: keeps "
                    + "their autoencoder and trains their MMDiT --steps more steps.")
    Path continueFrom;

    @Option(names = "--vae-from", paramLabel = "FILE",
            description = "Continue training this autoencoder (e.g. one an earlier run wrote) instead of a new one.")
    Path vaeFrom;

    @Option(names = "--until", paramLabel = "STAGE", defaultValue = "mmdit",
            converter = StageConverter.class,
            description = "The last stage to run: data, autoencoder, cache or mmdit (default: ${DEFAULT-VALUE}).")
    DefaultModelRecipe.Stage until;

    @Mixin
    RuntimeOptions runtime;

    @Override
    public Integer call() {
        DefaultModelRecipe.Plan plan = DefaultModelRecipe.Plan.defaults();
        if (images != null) {
            require(images >= 16, "--images must be >= 16, found " + images);
            plan = plan.withImages(images);
        }
        if (vaeSteps != null) {
            require(vaeSteps >= 1, "--vae-steps must be >= 1, found " + vaeSteps);
            plan = plan.withVaeSteps(vaeSteps);
        }
        if (decoderSteps != null) {
            require(decoderSteps >= 0, "--decoder-steps must be >= 0, found " + decoderSteps);
            plan = plan.withDecoderSteps(decoderSteps);
        }
        if (steps != null) {
            require(steps >= 1, "--steps must be >= 1, found " + steps);
            plan = plan.withSteps(steps);
        }
        if (batch != null) {
            require(batch >= 1, "--batch must be >= 1, found " + batch);
            plan = plan.withBatch(batch);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        OnnxOptions onnx = runtime.resolve();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        try (CancelOnShutdown cancel = CancelOnShutdown.register()) {
            cancel.trackStop(() -> stop.set(true), TrainCommand.TRAINING_GRACE);
            if (output == null && until == DefaultModelRecipe.Stage.MMDIT) {
                throw new ParameterException(spec.commandLine(), "Missing --output FILE: where to write the trained "
                        + "weights");
            }
            if (continueFrom != null && vaeFrom != null) {
                throw new ParameterException(spec.commandLine(), "--vae-from and --continue-from exclude each other:"
                        + " continuing keeps the earlier model's autoencoder");
            }
            Path written = DefaultModelRecipe.run(work, plan, onnx, output,
                    new DefaultModelRecipe.Start(continueFrom, vaeFrom, until),
                    new DefaultModelRecipe.Listener() {
                private long lastPrint;

                @Override
                public void stage(String what) {
                    err.println(what);
                    err.flush();
                }

                @Override
                public void onStart(long firstStep, long totalSteps) {
                    err.println(firstStep == 0 ? "Starting at step 0 of " + totalSteps
                            : "Resuming at step " + firstStep + " of " + totalSteps);
                    err.flush();
                }

                @Override
                public void onStep(TrainingProgress p) {
                    long now = System.nanoTime();
                    if (now - lastPrint > 10_000_000_000L || p.step() == p.totalSteps()) {
                        lastPrint = now;
                        err.println(String.format(Locale.ROOT, "step %d/%d loss %.4f lr %.2e norm %.3f, %s",
                                p.step(), p.totalSteps(), p.loss(), p.learningRate(), p.gradientNorm(),
                                Units.seconds(p.elapsed())));
                        err.flush();
                    }
                }

                @Override
                public void onCheckpoint(long step, Path file) {
                }

                @Override
                public boolean stopRequested() {
                    return stop.get();
                }
            });
            if (written == null) {
                out.println("Stopped; run the same command again to continue from " + work);
                return 1;
            }
            out.println("Wrote " + written);
        }
        return 0;
    }

    /** {@code data} / {@code autoencoder} / {@code cache} / {@code mmdit}. */
    static final class StageConverter extends EnumOption<DefaultModelRecipe.Stage> {
        StageConverter() {
            super(DefaultModelRecipe.Stage.class);
        }
    }

    private void require(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }
}
