package org.sd3j.examples.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;

import org.sd3j.Generation;
import org.sd3j.GenerationListener;
import org.sd3j.GenerationRequest;
import org.sd3j.GenerationResult;
import org.sd3j.GenerationStart;
import org.sd3j.Sd3Pipeline;
import org.sd3j.StepEvent;
import org.sd3j.onnx.runtime.OnnxRunStatistics;

/**
 * {@code sd3 generate --benchmark [RUNS]}: one warm-up run, then the same request (same seed) {@code RUNS} times,
 * a row per run as it ends and a summary ({@link BenchmarkReport}). Writes no image.
 */
final class Benchmark {
    private final Sd3Pipeline pipeline;
    private final GenerationListener progress;
    private final CancelOnShutdown cancel;
    private final MemoryProbe memory;
    private final PrintWriter out;
    private final OnnxRunStatistics onnxRuntime;
    /** The settings of the latest run, as the pipeline resolved them. */
    private final AtomicReference<GenerationStart> start = new AtomicReference<>();

    /**
     * @param onnxRuntime the run listener on the options the model was loaded with: it tells how much of each run
     *                    ONNX Runtime took
     */
    Benchmark(Sd3Pipeline pipeline, GenerationListener progress, CancelOnShutdown cancel, MemoryProbe memory,
              PrintWriter out, OnnxRunStatistics onnxRuntime) {
        this.onnxRuntime = onnxRuntime;
        this.pipeline = pipeline;
        this.progress = progress;
        this.cancel = cancel;
        this.memory = memory;
        this.out = out;
    }

    /** Runs {@code request} once to warm up and {@code runs} times measured; returns the measured samples. */
    List<BenchmarkReport.Sample> run(GenerationRequest request, int runs) {
        if (runs < 1) {
            throw new IllegalArgumentException("--benchmark runs must be >= 1, found " + runs);
        }
        // Every run the same: a seed drawn once when none was given.
        GenerationRequest same = request.seed().isPresent() ? request
                : request.toBuilder().seed(ThreadLocalRandom.current().nextLong(1L << 32)).build();
        Sd3Pipeline measured = pipeline.toBuilder().listener(new Forwarding(progress, start)).build();

        BenchmarkReport.Sample warmUp = once(measured, same);
        out.println(BenchmarkReport.header(runs, start.get()));
        out.println(BenchmarkReport.columns());
        out.println(BenchmarkReport.row("warm-up", warmUp));
        out.flush();
        List<BenchmarkReport.Sample> samples = new ArrayList<>();
        for (int i = 1; i <= runs; i++) {
            BenchmarkReport.Sample s = once(measured, same);
            samples.add(s);
            out.println(BenchmarkReport.row(Integer.toString(i), s));
            out.flush();
        }
        BenchmarkReport.summary(samples).forEach(out::println);
        out.flush();
        return samples;
    }

    private BenchmarkReport.Sample once(Sd3Pipeline p, GenerationRequest request) {
        Generation g = p.newGeneration(request);
        cancel.track(g);
        Duration before = onnxRuntime.time();
        GenerationResult r = GenerationRunner.execute(g);
        Duration inside = onnxRuntime.time().minus(before);
        return new BenchmarkReport.Sample(r.timings().total(), r.timings().denoise(), start.get().steps(),
                r.batchSize(), inside, memory.heapUsedAfterGc(), memory.residentBytes());
    }

    /** Sends events on to the progress display and keeps the resolved settings for the header. */
    private static final class Forwarding extends GenerationListener {
        private final GenerationListener next;
        private final AtomicReference<GenerationStart> start;

        Forwarding(GenerationListener next, AtomicReference<GenerationStart> start) {
            this.next = next;
            this.start = start;
        }

        @Override
        public void onStart(GenerationStart s) {
            start.set(s);
            next.onStart(s);
        }

        @Override
        public void onStep(StepEvent step) {
            next.onStep(step);
        }

        @Override
        public void onEnd(GenerationResult result) {
            next.onEnd(result);
        }

        @Override
        public void onFailure(Throwable error) {
            next.onFailure(error);
        }

        @Override
        public void onCancel(int completedSteps) {
            next.onCancel(completedSteps);
        }
    }
}
