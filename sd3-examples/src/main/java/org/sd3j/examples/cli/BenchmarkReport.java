package org.sd3j.examples.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.function.Function;

import org.sd3j.GenerationStart;

/**
 * The text {@code sd3 generate --benchmark} prints (stable: scripts may parse it; see the README):
 * <pre>
 * Benchmark: 3 runs after 1 warm-up, 1 image of 64x64 and 2 steps per run
 * run        image      step       outside    heap       RSS
 * warm-up    0.912 s    0.401 s    4.1%       45.1 MB    312.0 MB
 * 1          0.521 s    0.210 s    1.9%       45.1 MB    312.0 MB
 * 2          0.503 s    0.202 s    1.7%       45.3 MB    312.4 MB
 * 3          0.512 s    0.204 s    1.8%       45.2 MB    312.4 MB
 * per image: median 0.512 s, min 0.503 s
 * per step: median 0.204 s, min 0.202 s
 * outside ONNX Runtime: median 1.8%, max 1.9% of the run time
 * heap after runs 1..3: 45.1 MB -> 45.2 MB (+0.1 MB)
 * RSS after runs 1..3: 312.0 MB -> 312.4 MB (+0.4 MB)
 * </pre>
 * {@code image} is the run's total time (encode, denoise, decode) per image of the batch, {@code step} its
 * denoising time per step, {@code outside} the share of the run's time spent outside ONNX Runtime's calls
 * (tokenizing, conditioning assembly, guidance, sampling, image conversion: Java's overhead), {@code heap} the Java heap in use after a full GC once the run ended, {@code RSS} the
 * process's resident memory then ({@code n/a} where the OS does not say). Medians and minimums leave the warm-up
 * out.
 */
final class BenchmarkReport {
    private static final String COLUMNS = "%-10s %-10s %-10s %-10s %-10s %s";

    /**
     * One measured run.
     *
     * @param total    the run's total time
     * @param denoise  its denoising time
     * @param steps    denoising steps taken
     * @param batch    images made
     * @param onnxRuntime time inside ONNX Runtime's run calls during the run
     * @param heap     heap bytes in use after a GC at the end of the run
     * @param resident the process's resident bytes then, if known
     */
    record Sample(Duration total, Duration denoise, int steps, int batch, Duration onnxRuntime, long heap,
                  OptionalLong resident) {
        Duration perImage() {
            return total.dividedBy(batch);
        }

        Duration perStep() {
            return denoise.dividedBy(Math.max(1, steps));
        }

        /** The share of the run's time outside ONNX Runtime's calls, in [0, 1]. */
        double outside() {
            long t = total.toNanos();
            return t <= 0 ? 0 : Math.max(0, t - onnxRuntime.toNanos()) / (double) t;
        }
    }

    private BenchmarkReport() {
    }

    static String header(int runs, GenerationStart start) {
        return String.format(Locale.ROOT, "Benchmark: %d run%s after 1 warm-up, %d image%s of %dx%d and %d steps per run",
                runs, runs == 1 ? "" : "s", start.batchSize(), start.batchSize() == 1 ? "" : "s", start.width(),
                start.height(), start.steps());
    }

    static String columns() {
        return String.format(Locale.ROOT, COLUMNS, "run", "image", "step", "outside", "heap", "RSS");
    }

    static String row(String run, Sample s) {
        return String.format(Locale.ROOT, COLUMNS, run, Units.millis(s.perImage()), Units.millis(s.perStep()),
                percent(s.outside()), Units.megabytes(s.heap()),
                s.resident().isPresent() ? Units.megabytes(s.resident().getAsLong()) : "n/a");
    }

    /** The summary lines after the measured runs (the warm-up excluded). */
    static List<String> summary(List<Sample> runs) {
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("runs must be non-empty, found []");
        }
        List<String> lines = new ArrayList<>();
        lines.add("per image: " + spread(runs, Sample::perImage));
        lines.add("per step: " + spread(runs, Sample::perStep));
        lines.add("outside ONNX Runtime: " + outsideOnnxRuntimeShare(runs));
        Sample first = runs.get(0);
        Sample last = runs.get(runs.size() - 1);
        String span = "after runs 1.." + runs.size() + ": ";
        lines.add("heap " + span + growth(first.heap(), last.heap()));
        if (first.resident().isPresent() && last.resident().isPresent()) {
            lines.add("RSS " + span + growth(first.resident().getAsLong(), last.resident().getAsLong()));
        }
        return lines;
    }

    /** {@code median 1.8%, max 1.9% of the run time}: Java's share of the runs. */
    static String outsideOnnxRuntimeShare(List<Sample> runs) {
        List<Double> sorted = runs.stream().map(Sample::outside).sorted().toList();
        int n = sorted.size();
        double median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
        return "median " + percent(median) + ", max " + percent(sorted.get(n - 1)) + " of the run time";
    }

    private static String percent(double share) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * share);
    }

    /** {@code median 0.512 s, min 0.503 s}. */
    private static String spread(List<Sample> runs, Function<Sample, Duration> f) {
        List<Duration> sorted = runs.stream().map(f).sorted(Comparator.naturalOrder()).toList();
        int n = sorted.size();
        Duration median = n % 2 == 1 ? sorted.get(n / 2) : sorted.get(n / 2 - 1).plus(sorted.get(n / 2)).dividedBy(2);
        return "median " + Units.millis(median) + ", min " + Units.millis(sorted.get(0));
    }

    /** {@code 45.1 MB -> 45.2 MB (+0.1 MB)}. */
    private static String growth(long from, long to) {
        long delta = to - from;
        return Units.megabytes(from) + " -> " + Units.megabytes(to) + " (" + (delta < 0 ? "-" : "+")
                + Units.megabytes(Math.abs(delta)) + ")";
    }
}
