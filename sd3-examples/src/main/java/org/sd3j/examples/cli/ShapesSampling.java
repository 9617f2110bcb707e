package org.sd3j.examples.cli;

import java.nio.file.Path;

import org.sd3j.Sd3Pipeline;
import org.sd3j.examples.shapes.PromptAdherence;
import org.sd3j.onnx.model.Sd3Model;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The sampling options of the commands that draw the shapes world ({@code sd3 eval}, {@code sd3 dpo-pairs}): the
 * model, steps and guidance (a picocli mixin); images are always {@value PromptAdherence#IMAGE_SIZE} px square,
 * the size the evaluator and the default model work at.
 */
final class ShapesSampling {
    @Option(names = "--model", paramLabel = "DIR|FILE", description = "The model (default: the bundled model).")
    Path model;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "28",
            description = "Sampling steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = {"-g", "--guidance"}, paramLabel = "SCALE",
            description = "Classifier-free guidance scale (default: the one the model recommends, else 7.0).")
    Double guidance;

    void validate(CommandSpec spec) {
        if (steps < 1) {
            throw new ParameterException(spec.commandLine(), "--steps must be >= 1, found " + steps);
        }
    }

    /** {@code model}'s pipeline with these options at the shapes world's size. */
    Sd3Pipeline.Builder pipeline(Sd3Model model) {
        Sd3Pipeline.Builder b = model.pipelineBuilder().steps(steps)
                .size(PromptAdherence.IMAGE_SIZE, PromptAdherence.IMAGE_SIZE);
        if (guidance != null) {
            b.guidance(guidance);
        }
        return b;
    }
}
