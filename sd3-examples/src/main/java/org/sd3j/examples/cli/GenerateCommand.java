package org.sd3j.examples.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.sd3j.Generation;
import org.sd3j.GenerationRequest;
import org.sd3j.GenerationResult;
import org.sd3j.Sd3Exception;
import org.sd3j.Sd3Pipeline;
import org.sd3j.Timings;
import org.sd3j.lora.LoraRequest;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.runtime.OnnxRunStatistics;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code sd3 generate PROMPT}: loads the model ({@code --model}, or the bundled one), generates with a progress bar
 * on the error stream, writes PNGs with their parameters and prints what it wrote, the seed and the timings.
 * {@code --benchmark} measures repeated runs instead ({@link Benchmark}).
 */
@Command(name = "generate",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
                "Generate images from a text prompt (text-to-image, img2img with --init-image, inpainting with "
                        + "--mask).",
                "",
                "Writes FILE (default sd3-SEED.png; with --batch N: FILE-1.png ... FILE-N.png) with the settings "
                        + "in its 'parameters' text chunk, as AUTOMATIC1111 does. Settings left out come from the "
                        + "model: 28 steps, guidance 7.0, its shift, its default size. Progress goes to the error "
                        + "stream; Ctrl-C stops after the current step.",
                "",
                "--lora merges LoRA files (diffusers/PEFT, kohya, ComfyUI or original keys; MMDiT and CLIP "
                        + "adapters) into the model's weights as it loads; they are recorded in the parameters as "
                        + "<lora:NAME:WEIGHT> after the prompt.",
        },
        footer = {
                "",
                "Examples:",
                "  sd3 generate \"two green stars, gray background\" --output stars.png",
                "  sd3 generate \"a lighthouse\" --model sd3m-onnx --size 1024x768 --seed 42",
                "  sd3 generate \"a watercolor fox\" --init-image fox.png --strength 0.5",
                "  sd3 generate \"a lighthouse\" --model sd3m-onnx --steps 20 --benchmark 5",
                "  sd3 generate \"a fox\" --model sd3m-onnx --lora pixel.safetensors:0.8 --lora fox.safetensors",
        })
final class GenerateCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "PROMPT",
            description = "What to generate (or give it with --prompt).")
    String positionalPrompt;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "What to generate, instead of PROMPT.")
    String promptOption;

    @Mixin
    RequestOptions request;

    @Option(names = "--model", paramLabel = "DIR|FILE",
            description = "The model: an ONNX folder (what 'sd3 convert' writes), a diffusers folder or a "
                    + "single-file checkpoint (default: the bundled model).")
    Path model;

    @Option(names = {"-o", "--out", "--output"}, paramLabel = "FILE",
            description = "The PNG to write (default: sd3-SEED.png in the current folder; with --batch N: "
                    + "FILE-1.png ... FILE-N.png).")
    Path output;

    @Option(names = "--lora", paramLabel = "FILE[:WEIGHT]", converter = LoraOption.Converter.class,
            description = "Merge a LoRA into the model at load, with WEIGHT (default 1; 0 leaves the model as it "
                    + "is, negative subtracts). Repeatable: the LoRAs add up.")
    List<LoraRequest> loras = new ArrayList<>();

    @Mixin
    RuntimeOptions runtime;

    @Option(names = "--benchmark", arity = "0..1", fallbackValue = "3", parameterConsumer = OptionalCount.class,
            paramLabel = "RUNS",
            description = "Measure instead of writing images: one warm-up, then RUNS (default 3) runs of the same "
                    + "request; prints the time per image and per step, and the heap and resident memory after "
                    + "each run.")
    Integer benchmark;

    /** Whether the error stream is a terminal (progress redrawn in place); tests set it. */
    boolean terminal = System.console() != null;

    @Override
    public Integer call() {
        GenerationRequest generation = request.toRequest(prompt(), spec);
        if (benchmark != null && output != null) {
            throw new ParameterException(spec.commandLine(), "--benchmark writes no image: leave out --output");
        }
        OutputFiles.check(output);
        OnnxRunStatistics onnxRuntime = new OnnxRunStatistics();
        OnnxOptions onnx = runtime.resolve().toBuilder().runListener(onnxRuntime).build();

        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ProgressBar progress = new ProgressBar(err, terminal, System::nanoTime);
        try (CancelOnShutdown cancel = CancelOnShutdown.register()) {
            long loadStart = System.nanoTime();
            try (LoadedModel loaded = LoadedModel.open(model, onnx, loras)) {
                err.println("Loaded " + loaded.describe() + " in "
                        + Units.seconds(Duration.ofNanos(System.nanoTime() - loadStart)));
                LoraOption.describe(loaded.model().mergedLoras()).forEach(err::println);
                err.flush();
                Sd3Pipeline pipeline = loaded.model().pipelineBuilder().modelName(loaded.name()).listener(progress)
                        .build();
                if (benchmark != null) {
                    new Benchmark(pipeline, progress, cancel, MemoryProbe.system(), out, onnxRuntime)
                            .run(generation, benchmark);
                    return 0;
                }
                if (loaded.model().vae().isEmpty()) {
                    throw new Sd3Exception(loaded.describe() + " has no VAE, so there is no image to write: use a "
                            + "model with vae_decoder/ (ONNX), vae/ (diffusers) or first_stage_model.* weights");
                }
                Generation g = pipeline.newGeneration(generation);
                cancel.track(g);
                GenerationResult result = GenerationRunner.execute(g);
                write(result, out);
            }
        }
        return 0;
    }

    /** The prompt: PROMPT or --prompt, exactly one of them. */
    String prompt() {
        if (positionalPrompt != null && promptOption != null) {
            throw new ParameterException(spec.commandLine(),
                    "The prompt was given twice, as PROMPT and with --prompt: give one");
        }
        if (positionalPrompt == null && promptOption == null) {
            throw new ParameterException(spec.commandLine(), "Missing the prompt: give it as PROMPT or with --prompt");
        }
        return positionalPrompt != null ? positionalPrompt : promptOption;
    }

    private void write(GenerationResult result, PrintWriter out) {
        List<Path> files = OutputFiles.paths(output, result.seed(), result.images().size());
        for (int i = 0; i < files.size(); i++) {
            Path file = files.get(i);
            createParent(file);
            result.writePng(i, file);
            out.println("Wrote " + file + " (seed " + result.seed(i) + ")");
        }
        Timings t = result.timings();
        out.println("Timings: encode " + Units.seconds(t.encode()) + ", denoise " + Units.seconds(t.denoise())
                + ", decode " + Units.seconds(t.decode()) + ", total " + Units.seconds(t.total()));
        out.flush();
    }

    private static void createParent(Path file) {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            try {
                Files.createDirectories(parent);
            } catch (IOException e) {
                throw new Sd3Exception("Cannot create " + parent + ": " + e.getMessage(), e);
            }
        }
    }
}
