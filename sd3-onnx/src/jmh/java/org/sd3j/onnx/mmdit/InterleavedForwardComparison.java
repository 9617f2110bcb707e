package org.sd3j.onnx.mmdit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import org.sd3j.conditioning.Conditioning;
import org.sd3j.model.Denoiser;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.random.TorchGenerator;
import org.sd3j.tensor.Tensor;

/**
 * Our MMDiT graph against a {@code torch.onnx.export} of the same model (what an optimum user runs), both under
 * ONNX Runtime with the same session options, timed in one interleaved session: the speed acceptance
 * (depth 4, hidden 256, 4 heads; batch 2 at latent 16x32x32 and batch 1 at 16x64x64, context 77 x 256, pooled
 * 256). The machine is noisy, so the models alternate: every round runs {@code reps} forwards of each model on
 * each shape, the model order rotating from round to round; the report gives the median, p10 and p90 of all
 * forwards per model and shape, and the median over rounds of the per-round ratio to the export.
 *
 * <p>Before timing it checks that the models agree: on {@code check.safetensors} beside the export (inputs and
 * torch float32 outputs written by the export script, one case at a shape other than the traced one) and on the
 * benchmark inputs. It also prints the op histogram of each model after ONNX Runtime's optimizations.
 *
 * <p>Setup (once; the baseline lives outside the repository):
 * <pre>
 * mvn -q -o install -DskipTests -pl sd3-core,sd3-onnx
 * mvn -q -o -pl sd3-onnx -Pbench test-compile
 * mvn -q -o -pl sd3-onnx dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt -Dmdep.includeScope=test
 * CP=sd3-onnx/target/test-classes:sd3-onnx/target/classes:$(cat /tmp/cp.txt)
 * java -cp $CP org.sd3j.onnx.mmdit.WriteBenchCheckpoint /tmp/sd3j-baseline/d4.safetensors
 * /usr/bin/python3 sd3-onnx/src/test/python/export_mmdit_baseline.py /tmp/sd3j-baseline/d4.safetensors \
 *     --out /tmp/sd3j-baseline
 * java -cp $CP org.sd3j.onnx.mmdit.InterleavedForwardComparison /tmp/sd3j-baseline/model.onnx
 * </pre>
 * System properties: {@code sd3j.baseline} (the export, instead of the argument), {@code sd3j.checkpoint}
 * (default {@code d4.safetensors} beside the export), {@code sd3j.attention} (our variants, comma-separated
 * {@link MmditGraph.Attention} names; default all), {@code sd3j.rounds} (40), {@code sd3j.reps} (3),
 * {@code sd3j.warmup} (5 forwards per model and shape), {@code sd3j.shapes} ({@code b2_32,b1_64}),
 * {@code sd3j.threads} (intra-op threads, 0 = ORT's default), {@code sd3j.ops} ({@code false} skips the op
 * histograms).
 *
 * <p>Not a unit test: compiled with {@code -Pbench} only (src/jmh).
 */
public final class InterleavedForwardComparison {
    private static final double AGREEMENT = 1e-4;

    private record Shape(String name, int batch, int side, int sequence) {
    }

    private record Model(String name, Denoiser denoiser) {
    }

    private InterleavedForwardComparison() {
    }

    public static void main(String[] args) throws Exception {
        String baselineArg = args.length > 0 ? args[0] : System.getProperty("sd3j.baseline");
        Path baseline = baselineArg == null ? null : Path.of(baselineArg);
        Path checkpoint = Path.of(System.getProperty("sd3j.checkpoint",
                (baseline == null ? WriteBenchCheckpoint.DEFAULT
                        : baseline.toAbsolutePath().resolveSibling("d4.safetensors")).toString()));
        if (baseline == null || !Files.isRegularFile(baseline) || !Files.isRegularFile(checkpoint)) {
            System.err.println(missing(baseline, checkpoint));
            System.exit(2);
        }
        int rounds = Integer.getInteger("sd3j.rounds", 40);
        int reps = Integer.getInteger("sd3j.reps", 3);
        int warmup = Integer.getInteger("sd3j.warmup", 5);
        OnnxOptions session = OnnxOptions.cpu().withIntraOpThreads(Integer.getInteger("sd3j.threads", 0));
        List<Shape> shapes = new ArrayList<>();
        for (String s : System.getProperty("sd3j.shapes", "b2_32,b1_64").split(",")) {
            shapes.add(switch (s.trim()) {
                case "b2_32" -> new Shape("b2_32", 2, 32, 77);
                case "b1_64" -> new Shape("b1_64", 1, 64, 77);
                default -> throw new IllegalArgumentException("unknown shape " + s + " (b2_32, b1_64)");
            });
        }
        List<MmditGraph.Attention> attentions = new ArrayList<>();
        String attentionProp = System.getProperty("sd3j.attention");
        if (attentionProp == null) {
            attentions.addAll(Arrays.asList(MmditGraph.Attention.values()));
        } else {
            for (String a : attentionProp.split(",")) {
                attentions.add(MmditGraph.Attention.valueOf(a.trim().toUpperCase(Locale.ROOT)));
            }
        }

        System.out.printf("checkpoint %s%nbaseline   %s%ncpus %d, intra-op threads %s, java %s, ORT %s%n", checkpoint,
                baseline, Runtime.getRuntime().availableProcessors(),
                session.intraOpThreads() == 0 ? "default" : session.intraOpThreads(), System.getProperty("java.version"),
                OrtEnvironment.getEnvironment().getVersion());

        List<Model> models = new ArrayList<>();
        try {
            for (MmditGraph.Attention a : attentions) {
                long t0 = System.nanoTime();
                models.add(new Model("ours-" + a, MmditDenoiser.load(checkpoint, session, a)));
                System.out.printf("loaded ours-%s in %d ms%n", a, (System.nanoTime() - t0) / 1_000_000);
            }
            long t0 = System.nanoTime();
            models.add(new Model("export", OnnxDenoiser.load(baseline, session)));
            System.out.printf("loaded export in %d ms%n", (System.nanoTime() - t0) / 1_000_000);

            if (!Boolean.parseBoolean(System.getProperty("sd3j.ops", "true"))) {
                System.out.println("(op histograms skipped)");
            } else {
                opHistograms(models, baseline);
            }
            boolean agree = checkAgreement(models, baseline.toAbsolutePath().resolveSibling("check.safetensors"),
                    shapes);
            if (!agree) {
                System.out.println("WARNING: the models disagree beyond " + AGREEMENT + "; timings compare different "
                        + "computations");
            }
            time(models, shapes, rounds, reps, warmup);
        } finally {
            for (Model m : models) {
                ((AutoCloseable) m.denoiser()).close();
            }
        }
    }

    private static String missing(Path baseline, Path checkpoint) {
        String cp = "sd3-onnx/target/test-classes:sd3-onnx/target/classes:$(cat /tmp/cp.txt)";
        return String.join(System.lineSeparator(),
                "InterleavedForwardComparison needs the torch.onnx.export baseline and the checkpoint it was exported "
                        + "from.",
                "  baseline:   " + (baseline == null ? "(not given: pass it as the first argument or -Dsd3j.baseline)"
                        : baseline + (Files.isRegularFile(baseline) ? "" : " (missing)")),
                "  checkpoint: " + checkpoint + (Files.isRegularFile(checkpoint) ? "" : " (missing)"),
                "Create both (from the repository root; torch 1.13 is in /usr/bin/python3, no network needed):",
                "  java -cp " + cp + " org.sd3j.onnx.mmdit.WriteBenchCheckpoint /tmp/sd3j-baseline/d4.safetensors",
                "  /usr/bin/python3 sd3-onnx/src/test/python/export_mmdit_baseline.py /tmp/sd3j-baseline/d4.safetensors"
                        + " --out /tmp/sd3j-baseline",
                "then run:",
                "  java -cp " + cp + " org.sd3j.onnx.mmdit.InterleavedForwardComparison /tmp/sd3j-baseline/model.onnx");
    }

    // ---------------------------------------------------------------------------------------------------------
    // Agreement
    // ---------------------------------------------------------------------------------------------------------

    private static boolean checkAgreement(List<Model> models, Path checkFile, List<Shape> shapes) {
        System.out.println();
        System.out.println("== agreement (max abs difference, float32) ==");
        double worst = 0;
        if (Files.isRegularFile(checkFile)) {
            try (TensorSource src = Safetensors.open(checkFile)) {
                List<String> cases = new ArrayList<>();
                for (String n : src.names()) {
                    if (n.endsWith(".out")) {
                        cases.add(n.substring(0, n.length() - 4));
                    }
                }
                for (String c : cases) {
                    Tensor x = src.toFloatTensor(c + ".hidden_states");
                    Tensor t = src.toFloatTensor(c + ".timestep");
                    Conditioning cond = new Conditioning(src.toFloatTensor(c + ".encoder_hidden_states"),
                            src.toFloatTensor(c + ".pooled_projections"));
                    Tensor torch = src.toFloatTensor(c + ".out");
                    Map<String, Tensor> outs = new LinkedHashMap<>();
                    for (Model m : models) {
                        outs.put(m.name(), m.denoiser().velocity(x, t, cond));
                    }
                    System.out.printf("%-14s torch |out| max %.3f%n", c, absMax(torch));
                    for (Model m : models) {
                        double d = outs.get(m.name()).maxAbsDiff(torch);
                        worst = Math.max(worst, d);
                        System.out.printf("  %-18s vs torch  %.3e%n", m.name(), d);
                    }
                    worst = Math.max(worst, againstExport(outs, "  "));
                }
            }
        } else {
            System.out.println("(no " + checkFile + ": torch comparison skipped)");
        }
        for (Shape s : shapes) {
            Inputs in = inputs(s);
            Map<String, Tensor> outs = new LinkedHashMap<>();
            for (Model m : models) {
                outs.put(m.name(), m.denoiser().velocity(in.latents, in.timesteps, in.conditioning));
            }
            System.out.printf("%-14s (benchmark inputs) |out| max %.3f%n", s.name(), absMax(outs.get("export")));
            worst = Math.max(worst, againstExport(outs, "  "));
        }
        System.out.printf("worst %.3e (%s)%n", worst, worst <= AGREEMENT ? "agree" : "DISAGREE");
        return worst <= AGREEMENT;
    }

    private static double againstExport(Map<String, Tensor> outs, String indent) {
        Tensor export = outs.get("export");
        double worst = 0;
        for (Map.Entry<String, Tensor> e : outs.entrySet()) {
            if (!e.getKey().equals("export")) {
                double d = e.getValue().maxAbsDiff(export);
                worst = Math.max(worst, d);
                System.out.printf("%s%-18s vs export %.3e%n", indent, e.getKey(), d);
            }
        }
        return worst;
    }

    private static double absMax(Tensor t) {
        double m = 0;
        for (int i = 0; i < t.size(); i++) {
            m = Math.max(m, Math.abs(t.get(i)));
        }
        return m;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Timing
    // ---------------------------------------------------------------------------------------------------------

    private record Inputs(Tensor latents, Tensor timesteps, Conditioning conditioning) {
    }

    /** The inputs of {@link MmditForwardBenchmark}. */
    private static Inputs inputs(Shape s) {
        Tensor latents = Tensor.zeros(s.batch(), 16, s.side(), s.side());
        new TorchGenerator(1).fillNormal(latents.asFloatBuffer(), 0, latents.size());
        Tensor context = Tensor.zeros(s.batch(), s.sequence(), 256);
        new TorchGenerator(2).fillNormal(context.asFloatBuffer(), 0, context.size());
        Tensor pooled = Tensor.zeros(s.batch(), 256);
        new TorchGenerator(3).fillNormal(pooled.asFloatBuffer(), 0, pooled.size());
        return new Inputs(latents, Tensor.full(700f, s.batch()), new Conditioning(context, pooled));
    }

    private static void time(List<Model> models, List<Shape> shapes, int rounds, int reps, int warmup) {
        int n = models.size();
        int exportIndex = n - 1;
        List<Inputs> inputs = new ArrayList<>();
        for (Shape s : shapes) {
            inputs.add(inputs(s));
        }
        System.out.println();
        System.out.printf("== interleaved timing: %d rounds x %d forwards per model and shape (+%d warm-up) ==%n",
                rounds, reps, warmup);
        for (int si = 0; si < shapes.size(); si++) {
            for (Model m : models) {
                Inputs in = inputs.get(si);
                for (int i = 0; i < warmup; i++) {
                    m.denoiser().velocity(in.latents, in.timesteps, in.conditioning);
                }
            }
        }
        // ms[shape][model][round * reps + rep]
        double[][][] ms = new double[shapes.size()][n][rounds * reps];
        System.out.println("  load average before: " + loadAverage());
        long start = System.nanoTime();
        for (int r = 0; r < rounds; r++) {
            for (int si = 0; si < shapes.size(); si++) {
                Inputs in = inputs.get(si);
                for (int k = 0; k < n; k++) {
                    // rotate the order each round; with two models: AB, BA, AB, ...
                    int mi = (r % 2 == 0 ? k + r / 2 : n - 1 - k + r / 2) % n;
                    Denoiser d = models.get(mi).denoiser();
                    for (int rep = 0; rep < reps; rep++) {
                        long t0 = System.nanoTime();
                        d.velocity(in.latents, in.timesteps, in.conditioning);
                        ms[si][mi][r * reps + rep] = (System.nanoTime() - t0) / 1e6;
                    }
                }
            }
            if ((r + 1) % 10 == 0) {
                System.out.printf("  round %d/%d (%.0f s)%n", r + 1, rounds, (System.nanoTime() - start) / 1e9);
            }
        }
        System.out.println("  load average after:  " + loadAverage() + " (other processes on the machine skew timings)");
        System.out.println();
        System.out.printf("%-7s %-18s %9s %9s %9s %9s %18s%n", "shape", "model", "median", "p10", "p90", "min",
                "round ratio/export");
        for (int si = 0; si < shapes.size(); si++) {
            for (int mi = 0; mi < n; mi++) {
                double[] v = ms[si][mi].clone();
                Arrays.sort(v);
                String ratio = "";
                if (mi != exportIndex) {
                    double[] ratios = new double[rounds];
                    for (int r = 0; r < rounds; r++) {
                        ratios[r] = median(Arrays.copyOfRange(ms[si][mi], r * reps, (r + 1) * reps))
                                / median(Arrays.copyOfRange(ms[si][exportIndex], r * reps, (r + 1) * reps));
                    }
                    Arrays.sort(ratios);
                    ratio = String.format(Locale.ROOT, "%.3f [%.2f-%.2f]", quantile(ratios, 0.5),
                            quantile(ratios, 0.1), quantile(ratios, 0.9));
                }
                System.out.printf(Locale.ROOT, "%-7s %-18s %6.2f ms %6.2f ms %6.2f ms %6.2f ms %18s%n",
                        shapes.get(si).name(), models.get(mi).name(), quantile(v, 0.5), quantile(v, 0.1),
                        quantile(v, 0.9), v[0], ratio);
            }
        }
        System.out.println("(round ratio: median over rounds of model's per-round median / export's per-round "
                + "median, [p10-p90]; below 1 = faster than the export)");
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return quantile(s, 0.5);
    }

    /** Linear interpolation between order statistics of a sorted array. */
    private static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Op histograms, as written and after ONNX Runtime's optimizations (the session options of GraphSession)
    // ---------------------------------------------------------------------------------------------------------

    private static void opHistograms(List<Model> models, Path baseline) throws Exception {
        Path dir = Files.createTempDirectory("sd3j-ops");
        try {
            System.out.println();
            System.out.println("== op histograms (as written -> after ORT ALL_OPT on this CPU) ==");
            for (Model m : models) {
                Path file;
                if (m.denoiser() instanceof MmditDenoiser ours) {
                    file = dir.resolve(m.name()).resolve("model.onnx");
                    Files.createDirectories(file.getParent());
                    ours.graph().save(file);
                } else {
                    file = baseline;
                }
                Path optimized = dir.resolve(m.name() + ".opt.onnx");
                try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
                    o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                    o.setOptimizedModelFilePath(optimized.toString());
                    o.addConfigEntry("session.optimized_model_external_initializers_file_name",
                            m.name() + ".opt.data");
                    o.addConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
                    try (OrtSession s = OrtEnvironment.getEnvironment().createSession(file.toString(), o)) {
                        // only the optimized file is wanted
                    }
                }
                System.out.printf("%-18s %s%n", m.name(), histogram(file));
                System.out.printf("%-18s %s%n", "  optimized", histogram(optimized));
            }
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> {
                    try {
                        Files.deleteIfExists(p);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
            }
        }
    }

    private static String histogram(Path model) throws IOException {
        OnnxMl.ModelProto proto;
        try (InputStream in = Files.newInputStream(model)) {
            proto = OnnxMl.ModelProto.parseFrom(com.google.protobuf.CodedInputStream.newInstance(in));
        }
        Map<String, Integer> counts = new TreeMap<>();
        int total = 0;
        for (OnnxMl.NodeProto node : proto.getGraph().getNodeList()) {
            String op = node.getDomain().isEmpty() || node.getDomain().equals("ai.onnx") ? node.getOpType()
                    : node.getDomain().replace("com.microsoft", "ms") + ":" + node.getOpType();
            counts.merge(op, 1, Integer::sum);
            total++;
        }
        StringBuilder sb = new StringBuilder().append(total).append(" nodes: ");
        counts.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue())
                .forEach(e -> sb.append(e.getKey()).append(' ').append(e.getValue()).append(", "));
        sb.setLength(sb.length() - 2);
        return sb.toString();
    }
}
