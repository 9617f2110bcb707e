package org.sd3j.examples.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.sd3j.GenerationRequest;
import org.sd3j.Sd3Exception;
import org.sd3j.Sd3Pipeline;
import org.sd3j.examples.shapes.CaptionedScene;
import org.sd3j.examples.shapes.PreferencePairMaker;
import org.sd3j.internal.AtomicFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code sd3 dpo-pairs}: preference pairs for {@code sd3 dpo} made by a model itself on captions of the shapes world:
 * several candidates per caption, scored by the project's evaluator ({@link PreferencePairMaker}); writes the images
 * and a {@code pairs.jsonl} that {@code sd3 dpo --pairs} reads.
 */
@Command(name = "dpo-pairs",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
                "Make preference pairs for sd3 dpo: per caption of coloured shapes and signs, draw several images, "
                        + "score each with the project's evaluator (the share of the caption's attributes it gets "
                        + "right) and pair the best with the worst. Captions come from a seed of their own, apart "
                        + "from the training data's and sd3 eval's.",
        },
        footer = {
                "",
                "Example:",
                "  sd3 dpo-pairs --prompts 1000 --output prefs",
        })
final class DpoPairsCommand implements Callable<Integer> {
    static final String PAIRS_FILE = "pairs.jsonl";

    @Spec
    private CommandSpec spec;

    @Mixin
    ShapesSampling sampling;

    @Option(names = {"-o", "--output"}, paramLabel = "DIR", required = true,
            description = "The folder to write the images and " + PAIRS_FILE + " into.")
    Path output;

    @Option(names = "--prompts", paramLabel = "N", defaultValue = "500",
            description = "Captions to try (default: ${DEFAULT-VALUE}); those whose candidates all score the same "
                    + "give no pair.")
    int prompts;

    @Option(names = "--candidates", paramLabel = "K", defaultValue = "4",
            description = "Images per caption (default: ${DEFAULT-VALUE}).")
    int candidates;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1000000",
            description = "Seed of the first candidate (default: ${DEFAULT-VALUE}, apart from sd3 eval's).")
    long seed;

    @Mixin
    RuntimeOptions runtime;

    @Override
    public Integer call() {
        if (prompts < 1) {
            throw new ParameterException(spec.commandLine(), "--prompts must be >= 1, found " + prompts);
        }
        if (candidates < 2) {
            throw new ParameterException(spec.commandLine(), "--candidates must be >= 2, found " + candidates);
        }
        sampling.validate(spec);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<CaptionedScene> captions = PreferencePairMaker.captions(prompts);
        Path images = output.resolve("images");
        try {
            Files.createDirectories(images);
        } catch (IOException e) {
            throw new Sd3Exception("Cannot create " + images + ": " + e.getMessage(), e);
        }
        List<String> lines = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        double[] gain = new double[1];
        try (LoadedModel loaded = LoadedModel.open(sampling.model, runtime.resolve())) {
            err.println("Loaded " + loaded.describe());
            Sd3Pipeline pipeline = sampling.pipeline(loaded.model()).build();
            new PreferencePairMaker().make((caption, s) -> pipeline.generate(GenerationRequest.builder(caption)
                    .seed(s).build()).image(), captions, candidates, seed, (i, pair) -> {
                    if (pair != null) {
                        String name = String.format(Locale.ROOT, "%05d", i);
                        pair.chosen().writePng(images.resolve(name + "-chosen.png"));
                        pair.rejected().writePng(images.resolve(name + "-rejected.png"));
                        Map<String, Object> line = new LinkedHashMap<>();
                        line.put("prompt", pair.caption().caption());
                        line.put("chosen", "images/" + name + "-chosen.png");
                        line.put("rejected", "images/" + name + "-rejected.png");
                        line.put("chosen_score", pair.chosenScore());
                        line.put("rejected_score", pair.rejectedScore());
                        try {
                            lines.add(json.writeValueAsString(line));
                        } catch (IOException e) {
                            throw new Sd3Exception("Cannot write a pairs line: " + e.getMessage(), e);
                        }
                        gain[0] += pair.chosenScore() - pair.rejectedScore();
                    }
                    if ((i + 1) % 50 == 0 || i + 1 == captions.size()) {
                        err.printf(Locale.ROOT, "%d/%d captions, %d pairs%n", i + 1, captions.size(), lines.size());
                        err.flush();
                    }
                });
        }
        Path file = output.resolve(PAIRS_FILE);
        try {
            AtomicFiles.write(file, tmp -> Files.write(tmp, lines));
        } catch (IOException e) {
            throw new Sd3Exception("Cannot write " + file + ": " + e.getMessage(), e);
        }
        out.printf(Locale.ROOT, "Wrote %d pairs from %d captions to %s (mean score gap %.3f)%n", lines.size(),
                prompts, file, lines.isEmpty() ? 0 : gain[0] / lines.size());
        out.flush();
        return 0;
    }
}
