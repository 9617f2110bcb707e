package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;

import org.junit.jupiter.api.Test;
import org.sd3j.GenerationStart;

class BenchmarkReportTest {

    static BenchmarkReport.Sample sample(long totalMs, long denoiseMs, long heapMb, Long rssMb) {
        return sample(totalMs, denoiseMs, totalMs * 98 / 100, heapMb, rssMb);
    }

    static BenchmarkReport.Sample sample(long totalMs, long denoiseMs, long onnxMs, long heapMb, Long rssMb) {
        return new BenchmarkReport.Sample(Duration.ofMillis(totalMs), Duration.ofMillis(denoiseMs), 4, 2,
                Duration.ofMillis(onnxMs), heapMb * 1_000_000,
                rssMb == null ? OptionalLong.empty() : OptionalLong.of(rssMb * 1_000_000));
    }

    @Test
    void headerColumnsAndRows() {
        assertThat(BenchmarkReport.header(3, new GenerationStart(1024, 768, 2, 28, 1, true)))
                .isEqualTo("Benchmark: 3 runs after 1 warm-up, 2 images of 1024x768 and 28 steps per run");
        assertThat(BenchmarkReport.header(1, new GenerationStart(64, 64, 1, 2, 1, true)))
                .isEqualTo("Benchmark: 1 run after 1 warm-up, 1 image of 64x64 and 2 steps per run");
        assertThat(BenchmarkReport.columns())
                .isEqualTo("run        image      step       outside    heap       RSS");
        // 2 images in 3 s: 1.5 s per image; 2 s of denoising over 4 steps: 0.5 s per step.
        assertThat(BenchmarkReport.row("warm-up", sample(3000, 2000, 45, 312L)))
                .isEqualTo("warm-up    1.500 s    0.500 s    2.0%       45.0 MB    312.0 MB");
        assertThat(BenchmarkReport.row("1", sample(3000, 2000, 45, null)))
                .isEqualTo("1          1.500 s    0.500 s    2.0%       45.0 MB    n/a");
    }

    @Test
    void summaryHasMedianMinimumAndMemoryGrowth() {
        List<String> lines = BenchmarkReport.summary(List.of(sample(3000, 2000, 45, 300L),
                sample(2000, 1600, 46, 310L), sample(4000, 2400, 44, 305L), sample(2400, 2000, 47, 320L)));

        assertThat(lines).containsExactly(
                "per image: median 1.350 s, min 1.000 s",
                "per step: median 0.500 s, min 0.400 s",
                "outside ONNX Runtime: median 2.0%, max 2.0% of the run time",
                "heap after runs 1..4: 45.0 MB -> 47.0 MB (+2.0 MB)",
                "RSS after runs 1..4: 300.0 MB -> 320.0 MB (+20.0 MB)");
    }

    @Test
    void withoutResidentSizeTheRssLineIsLeftOut() {
        assertThat(BenchmarkReport.summary(List.of(sample(1000, 800, 50, null), sample(1000, 800, 40, null))))
                .containsExactly("per image: median 0.500 s, min 0.500 s",
                        "per step: median 0.200 s, min 0.200 s",
                        "outside ONNX Runtime: median 2.0%, max 2.0% of the run time",
                        "heap after runs 1..2: 50.0 MB -> 40.0 MB (-10.0 MB)");
    }

    @Test
    void theOutsideShareIsTheRunTimeNotSpentInOnnxRuntime() {
        // 1000 ms runs with 950, 990 and 900 ms inside ONNX Runtime: 5%, 1% and 10% outside.
        assertThat(BenchmarkReport.outsideOnnxRuntimeShare(List.of(sample(1000, 800, 950, 50, null),
                sample(1000, 800, 990, 50, null), sample(1000, 800, 900, 50, null))))
                .isEqualTo("median 5.0%, max 10.0% of the run time");
        assertThat(BenchmarkReport.row("1", sample(1000, 800, 1000, 50, null))).contains(" 0.0% ");
    }
}
