package org.sd3j.examples.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

import org.sd3j.model.EncoderRole;
import org.sd3j.onnx.convert.CheckpointConverter;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code sd3 convert <checkpoint> <out-dir>}: SD3 weights to an ONNX model folder, via {@link CheckpointConverter}. */
@Command(name = "convert",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
                "Convert SD3 weights into an ONNX model folder (optimum layout).",
                "",
                "Writes transformer/model.onnx (+ model.onnx_data) with the inputs hidden_states, timestep, "
                        + "encoder_hidden_states, pooled_projections and the output out_hidden_states, "
                        + "text_encoder/, text_encoder_2/, text_encoder_3/ (CLIP-L, CLIP-G, T5), vae_encoder/ and "
                        + "vae_decoder/ model.onnx files for the components the input has, the tokenizer folders "
                        + "of a diffusers input, scheduler/scheduler_config.json and model_index.json. "
                        + "A component the input lacks (e.g. T5 in sd3_medium.safetensors) is left out; "
                        + "--clip-l, --clip-g and --t5 add or replace encoders from standalone files (as downloaded "
                        + "for ComfyUI). A single-file checkpoint has no tokenizers: --tokenizers copies them from a "
                        + "diffusers-style folder.",
                "",
                "Examples:",
                "  sd3 convert sd3_medium.safetensors sd3-medium-onnx",
                "  sd3 convert sd3_medium.safetensors --t5 t5xxl_fp16.safetensors "
                        + "--tokenizers stable-diffusion-3-medium-diffusers/ sd3-medium-onnx",
                "  sd3 convert stable-diffusion-3.5-large/ sd3.5-large-onnx",
        })
final class ConvertCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "<checkpoint>",
            description = "The weights: a single-file safetensors checkpoint, a sharded checkpoint's "
                    + "index (.safetensors.index.json), a diffusers model folder or its transformer/ folder.")
    private Path input;

    @Parameters(index = "1", paramLabel = "<out-dir>",
            description = "The folder to write (created if missing; files of the same names are replaced).")
    private Path outputDir;

    @Option(names = "--clip-l", paramLabel = "FILE",
            description = "A standalone CLIP-L file (e.g. clip_l.safetensors) to convert instead of the input's.")
    Path clipL;

    @Option(names = "--clip-g", paramLabel = "FILE",
            description = "A standalone CLIP-G file (e.g. clip_g.safetensors) to convert instead of the input's.")
    Path clipG;

    @Option(names = "--t5", paramLabel = "FILE",
            description = "A standalone T5-XXL file (e.g. t5xxl_fp16.safetensors) to convert instead of the "
                    + "input's (sd3_medium.safetensors has none).")
    Path t5;

    @Option(names = "--tokenizers", paramLabel = "DIR",
            description = "A diffusers-style folder holding tokenizer/, tokenizer_2/, tokenizer_3/ to copy into "
                    + "the output (a single-file checkpoint has none).")
    Path tokenizers;

    /** The converter options these command-line options give. */
    CheckpointConverter.Options options() {
        CheckpointConverter.Options o = CheckpointConverter.Options.defaults();
        if (clipL != null) {
            o = o.withEncoderFile(EncoderRole.CLIP_L, clipL);
        }
        if (clipG != null) {
            o = o.withEncoderFile(EncoderRole.CLIP_G, clipG);
        }
        if (t5 != null) {
            o = o.withEncoderFile(EncoderRole.T5, t5);
        }
        if (tokenizers != null) {
            o = o.withTokenizers(tokenizers);
        }
        return o;
    }

    @Override
    public Integer call() {
        long start = System.nanoTime();
        CheckpointConverter.Result result = CheckpointConverter.convert(input, outputDir, options());
        Duration elapsed = Duration.ofNanos(System.nanoTime() - start);

        PrintWriter out = spec.commandLine().getOut();
        out.println("Converted " + input + " (" + result.transformer().variant() + ", "
                + Units.megabytes(result.weightBytes()) + " of weights, shift " + result.shift() + ")");
        out.println("Components: " + String.join(", ", result.components()));
        if (result.components().stream().noneMatch(c -> c.startsWith("tokenizer"))) {
            out.println("No tokenizer folders: the input has none (a single-file checkpoint never does); add them "
                    + "with --tokenizers DIR (a diffusers-style folder holding tokenizer/, tokenizer_2/, "
                    + "tokenizer_3/) or copy them into " + result.outputDir());
        }
        out.println("Wrote " + result.outputDir() + " in " + Units.seconds(elapsed));
        out.flush();
        return 0;
    }
}
