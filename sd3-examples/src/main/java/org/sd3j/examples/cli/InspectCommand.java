package org.sd3j.examples.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.sd3j.onnx.model.ModelInspector;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code sd3 inspect MODEL}: what a model file or folder holds, from {@link ModelInspector}; loads nothing. */
@Command(name = "inspect",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
                "Show what a model holds: its format, the components present (transformer, text encoders, VAE "
                        + "encoder and decoder, tokenizers, scheduler shift), each component's architecture, "
                        + "element types and parameter count, and for ONNX files the graph inputs and outputs.",
                "",
                "Reads file headers only: takes milliseconds whatever the model's size.",
                "",
                "Examples:",
                "  sd3 inspect sd3_medium.safetensors",
                "  sd3 inspect sd3-medium-onnx",
        })
final class InspectCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL",
            description = "A single-file (or sharded) checkpoint, a diffusers folder or an ONNX folder.")
    Path model;

    @Override
    public Integer call() {
        new ModelDescriptionPrinter(spec.commandLine().getOut()).print(ModelInspector.inspect(model));
        return 0;
    }
}
