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
import org.sd3j.Sd3Exception;
import org.sd3j.internal.AtomicFiles;
import org.sd3j.Sd3Pipeline;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.TextEncoder;
import org.sd3j.onnx.model.Sd3Model;
import org.sd3j.examples.shapes.Attribute;
import org.sd3j.examples.shapes.CaptionedScene;
import org.sd3j.examples.shapes.PromptAdherence;
import org.sd3j.examples.shapes.WinRate;
import org.sd3j.lora.LoraRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code sd3 eval}: prompt adherence of a model on held-out captions of the shapes world the default model is
 * trained on ({@link PromptAdherence}), with all encoders and with T5 dropped, plus a Frechet distance on simple
 * image statistics; a table on the output stream and, with {@code --json}, the figures in a file.
 */
@Command(name = "eval",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
                "Measure prompt adherence on held-out captions of coloured shapes and signs (what the bundled model "
                        + "is trained on): each image is read back by a deterministic evaluator (colour "
                        + "segmentation, shape moments, glyph matching) and scored on the attributes its caption "
                        + "names. Runs with all encoders and with T5 dropped; also reports a Frechet distance "
                        + "between generated and rendered images on colour and shape statistics.",
        },
        footer = {
                "",
                "Examples:",
                "  sd3 eval",
                "  sd3 eval --model my-shapes-model --prompts 50 --save-images eval-images",
                "  sd3 eval --runs all --reconstructions",
        })
final class EvalCommand implements Callable<Integer> {
    /** The caption sets {@code --captions} can name. */
    enum CaptionSet {
        HELD_OUT(PromptAdherence.HELD_OUT_SEED), VALIDATION(PromptAdherence.VALIDATION_SEED);

        final long seed;

        CaptionSet(long seed) {
            this.seed = seed;
        }

        List<CaptionedScene> captions(int count) {
            return this == HELD_OUT ? PromptAdherence.heldOutCaptions(count)
                    : PromptAdherence.validationCaptions(count);
        }
    }

    /** The configurations {@code --runs} can name. */
    enum Run {
        ALL("all encoders"), NO_T5("T5 dropped");

        final String label;

        Run(String label) {
            this.label = label;
        }
    }

    @Spec
    private CommandSpec spec;

    @Mixin
    ShapesSampling sampling;

    @Option(names = "--prompts", paramLabel = "N", defaultValue = "200",
            description = "Held-out captions to draw (default: ${DEFAULT-VALUE}).")
    int prompts;


    @Option(names = "--captions", paramLabel = "SET", defaultValue = "held-out", converter = CaptionSetConverter.class,
            description = "Which captions: held-out (the reported figures) or validation (another set, for choosing "
                    + "settings such as --guidance without tuning on the held-out one) (default: ${DEFAULT-VALUE}).")
    CaptionSet captionSet;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1",
            description = "Seed of the first image; image i uses seed + i (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--runs", paramLabel = "RUN", split = ",", defaultValue = "all,no-t5",
            converter = RunConverter.class,
            description = "Which encoder sets to evaluate: all, no-t5 (default: ${DEFAULT-VALUE}).")
    List<Run> runs;

    @Option(names = "--lora", paramLabel = "FILE[:WEIGHT]", converter = LoraOption.Converter.class,
            description = "Also evaluate the model with this LoRA merged (repeatable: they add up), on the same "
                    + "captions and seeds, and report its win rate against the model without it.")
    List<LoraRequest> loras = new ArrayList<>();

    @Option(names = "--reconstructions",
            description = "Also score the autoencoder's reconstructions of the rendered scenes (encoded and decoded, "
                    + "no denoising): the most any denoiser can reach through this autoencoder.")
    boolean reconstructions;

    @Option(names = "--save-images", paramLabel = "DIR",
            description = "Also write every image, as DIR/RUN/NNNNN.png.")
    Path saveImages;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the figures as JSON.")
    Path json;

    @Mixin
    RuntimeOptions runtime;

    /** The row of {@code --reconstructions}. */
    static final String RECONSTRUCTED = "VAE only";

    /** Whether the error stream is a terminal (per-image progress redrawn in place); tests set it. */
    boolean terminal = System.console() != null;

    @Override
    public Integer call() {
        if (prompts < 2) {
            throw new ParameterException(spec.commandLine(), "--prompts must be >= 2, found " + prompts);
        }
        sampling.validate(spec);
        int steps = sampling.steps;
        Double guidance = sampling.guidance;
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<CaptionedScene> captions = captionSet.captions(prompts);
        Map<String, Object> report = new LinkedHashMap<>();
        try (LoadedModel loaded = LoadedModel.open(sampling.model, runtime.resolve())) {
            Sd3Model m = loaded.model();
            if (m.vae().isEmpty()) {
                throw new Sd3Exception(loaded.describe() + " has no VAE, so there are no images to evaluate");
            }
            err.println("Loaded " + loaded.describe());
            Sd3Pipeline.Builder base = sampling.pipeline(m);
            report.put("model", loaded.name());
            report.put("prompts", prompts);
            report.put("captions", EnumOption.name(captionSet));
            report.put("caption_seed", captionSet.seed);
            report.put("first_image_seed", seed);
            double scale = base.build().guidance();
            report.put("steps", steps);
            report.put("guidance", scale);
            out.printf(Locale.ROOT, "Prompt adherence on %d %s captions, %d steps, guidance %s%s:%n", prompts,
                    EnumOption.name(captionSet), steps, Units.number(scale),
                    guidance != null ? "" : m.recommendedGuidance().isPresent() ? " (the model's)" : " (the default)");
            out.println(header());
            out.flush();
            List<Object> results = new ArrayList<>();
            LoadedModel tuned = loras.isEmpty() ? null : LoadedModel.open(sampling.model, runtime.resolve(), loras);
            try {
                if (tuned != null) {
                    LoraOption.describe(tuned.model().mergedLoras()).forEach(err::println);
                }
                for (Run run : runs) {
                    PromptAdherence.Result r = evaluate(pipeline(base, m, run), run, "", captions, err);
                    out.println(row(run.label, r));
                    out.flush();
                    Map<String, Object> json = toJson(run, r);
                    if (tuned != null) {
                        PromptAdherence.Result t = evaluate(pipeline(sampling.pipeline(tuned.model()), tuned.model(),
                                run), run, "-lora",
                                captions, err);
                        WinRate w = WinRate.of(t.evaluations(), r.evaluations());
                        out.println(row(run.label + " + LoRA", t));
                        out.printf(Locale.ROOT, "  LoRA vs none: %d wins, %d losses, %d ties: win rate %.1f%% of "
                                        + "decided captions, %.1f%% with ties as half%n", w.wins(), w.losses(),
                                w.ties(), 100 * w.decided(), 100 * w.tiesHalf());
                        out.flush();
                        Map<String, Object> lora = toJson(run, t);
                        lora.put("wins", w.wins());
                        lora.put("losses", w.losses());
                        lora.put("ties", w.ties());
                        lora.put("win_rate_decided", w.decided());
                        lora.put("win_rate_ties_half", w.tiesHalf());
                        json.put("with_lora", lora);
                    }
                    results.add(json);
                }
            } finally {
                if (tuned != null) {
                    tuned.close();
                }
            }
            report.put("runs", results);
            if (reconstructions) {
                PromptAdherence.Result r = new PromptAdherence().reconstructions(m.vae().get(), captions,
                        PromptAdherence.IMAGE_SIZE, (i, c, e, image) -> { });
                out.println(row(RECONSTRUCTED, r));
                out.flush();
                Map<String, Object> json = toJson(r);
                json.remove("seconds_per_image");
                report.put("reconstructions", json);
            }
        }
        if (json != null) {
            try {
                AtomicFiles.write(json, tmp -> new ObjectMapper().writerWithDefaultPrettyPrinter()
                        .writeValue(tmp.toFile(), report));
            } catch (IOException e) {
                throw new Sd3Exception("Cannot write " + json + ": " + e.getMessage(), e);
            }
            out.println("Wrote " + json);
        }
        return 0;
    }

    private PromptAdherence.Result evaluate(Sd3Pipeline pipeline, Run run, String suffix,
                                            List<CaptionedScene> captions, PrintWriter err) {
        Path dir = saveImages == null ? null : createFolder(saveImages.resolve(EnumOption.name(run) + suffix));
        PromptAdherence.Result r = new PromptAdherence().run(pipeline, captions, seed, dir, (i, c, e, image) -> {
            if (terminal) {
                err.printf(Locale.ROOT, "\r%s%s: %d/%d", run.label, suffix, i + 1, prompts);
                err.flush();
            }
        });
        if (terminal) {
            err.println();
        }
        return r;
    }

    private static Sd3Pipeline pipeline(Sd3Pipeline.Builder base, Sd3Model m, Run run) {
        List<TextEncoder> encoders = new ArrayList<>();
        for (EncoderRole role : List.of(EncoderRole.CLIP_L, EncoderRole.CLIP_G, EncoderRole.T5)) {
            if (run == Run.NO_T5 && role.equals(EncoderRole.T5)) {
                continue; // its slot in the context becomes zeros, as in training's encoder dropout
            }
            m.encoder(role).ifPresent(encoders::add);
        }
        return base.build().toBuilder().encoders(encoders.toArray(TextEncoder[]::new)).build();
    }

    private static String header() {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%-14s %9s %9s", "encoders", "attributes",
                "per image"));
        for (Attribute a : Attribute.values()) {
            s.append(String.format(Locale.ROOT, " %10s", a.key()));
        }
        return s.append(String.format(Locale.ROOT, " %8s %8s", "FD", "s/image")).toString();
    }

    static String row(String label, PromptAdherence.Result r) {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%-14s %9.1f%% %8.1f%%", label,
                100 * r.tally().attributeAccuracy(), 100 * r.tally().meanAdherence()));
        for (Attribute a : Attribute.values()) {
            s.append(r.tally().checked(a) == 0 ? String.format(Locale.ROOT, " %10s", "-")
                    : String.format(Locale.ROOT, " %9.1f%%", 100 * r.tally().accuracy(a)));
        }
        return s.append(String.format(Locale.ROOT, " %8.3f %8.2f", r.frechetDistance(),
                r.perImage().toNanos() / 1e9)).toString();
    }

    private static Map<String, Object> toJson(Run run, PromptAdherence.Result r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("run", EnumOption.name(run));
        m.putAll(toJson(r));
        return m;
    }

    private static Map<String, Object> toJson(PromptAdherence.Result r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("attribute_accuracy", r.tally().attributeAccuracy());
        m.put("mean_adherence", r.tally().meanAdherence());
        Map<String, Object> per = new LinkedHashMap<>();
        for (Attribute a : Attribute.values()) {
            if (r.tally().checked(a) > 0) {
                per.put(a.key(), Map.of("accuracy", r.tally().accuracy(a), "checked", r.tally().checked(a)));
            }
        }
        m.put("attributes", per);
        m.put("frechet_distance", r.frechetDistance());
        m.put("seconds_per_image", r.perImage().toNanos() / 1e9);
        return m;
    }

    private static Path createFolder(Path dir) {
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new Sd3Exception("Cannot create " + dir + ": " + e.getMessage(), e);
        }
    }

    /** {@code held-out} / {@code validation} to {@link CaptionSet}. */
    static final class CaptionSetConverter extends EnumOption<CaptionSet> {
        CaptionSetConverter() {
            super(CaptionSet.class);
        }
    }

    /** {@code all} / {@code no-t5} to {@link Run}. */
    static final class RunConverter extends EnumOption<Run> {
        RunConverter() {
            super(Run.class);
        }
    }
}
