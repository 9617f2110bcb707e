package org.sd3j.examples.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.sd3j.examples.defaultmodel.DefaultModel;
import org.sd3j.lora.LoraRequest;
import org.sd3j.onnx.model.Sd3Model;
import org.sd3j.onnx.runtime.OnnxOptions;

/**
 * The model a command works with: the one {@code --model} names, or the bundled default model extracted to a
 * temporary folder. {@link #close()} closes the model, then deletes the extracted folder.
 */
final class LoadedModel implements AutoCloseable {
    /** The model name written into images made with the bundled model. */
    static final String DEFAULT_NAME = "sd3j-default";

    private final Sd3Model model;
    private final DefaultModel.Extracted extracted;
    private final String name;

    private LoadedModel(Sd3Model model, DefaultModel.Extracted extracted, String name) {
        this.model = model;
        this.extracted = extracted;
        this.name = name;
    }

    /** Loads {@code path} (a checkpoint, diffusers or ONNX folder), or the bundled default model when it is null. */
    static LoadedModel open(Path path, OnnxOptions options) {
        return open(path, options, List.of());
    }

    /** {@link #open(Path, OnnxOptions)} with {@code loras} merged into the weights ({@code Sd3Model.Options.withLora}). */
    static LoadedModel open(Path path, OnnxOptions options, List<LoraRequest> loras) {
        Sd3Model.Options modelOptions = Sd3Model.Options.defaults();
        for (LoraRequest l : loras) {
            modelOptions = modelOptions.withLora(l.file(), l.weight());
        }
        if (path != null) {
            return new LoadedModel(Sd3Model.load(path, options, modelOptions), null, nameOf(path));
        }
        DefaultModel.Extracted extracted = DefaultModel.extractToTempDirectory();
        try {
            return new LoadedModel(Sd3Model.load(extracted.path(), options, modelOptions), extracted, DEFAULT_NAME);
        } catch (RuntimeException e) {
            try {
                extracted.close();
            } catch (RuntimeException secondary) {
                e.addSuppressed(secondary);
            }
            throw e;
        }
    }

    /** {@code sd3_medium.safetensors} -> {@code sd3_medium}; a folder's name as it is. */
    static String nameOf(Path path) {
        Path file = path.toAbsolutePath().normalize().getFileName();
        String name = file == null ? path.toString() : file.toString();
        return name.toLowerCase(Locale.ROOT).endsWith(".safetensors")
                ? name.substring(0, name.length() - ".safetensors".length()) : name;
    }

    Sd3Model model() {
        return model;
    }

    /** The name recorded in the images' parameters ({@code Model: ...}). */
    String name() {
        return name;
    }

    /** What was loaded, for messages: {@code sd3-medium-onnx (ONNX folder)}. */
    String describe() {
        return (extracted != null ? "the bundled default model" : model.path().toString()) + " ("
                + formatName(model.format()) + ")";
    }

    /** {@code checkpoint}, {@code diffusers folder} or {@code ONNX folder}. */
    static String formatName(Sd3Model.Format format) {
        return switch (format) {
            case CHECKPOINT -> "checkpoint";
            case DIFFUSERS -> "diffusers folder";
            case ONNX -> "ONNX folder";
        };
    }

    @Override
    public void close() {
        try {
            model.close();
        } finally {
            if (extracted != null) {
                extracted.close();
            }
        }
    }
}
