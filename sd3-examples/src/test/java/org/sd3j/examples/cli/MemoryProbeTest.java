package org.sd3j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemoryProbeTest {
    @TempDir
    Path tmp;

    @Test
    void readsVmRssInKilobytes() throws Exception {
        Path status = Files.writeString(tmp.resolve("status"), "Name:\tjava\nVmPeak:\t 9000 kB\nVmRSS:\t  312340 kB\n");

        assertThat(new MemoryProbe(status).residentBytes()).hasValue(312_340L * 1024);
    }

    @Test
    void emptyWithoutTheFileOrTheLine() throws Exception {
        assertThat(new MemoryProbe(tmp.resolve("missing")).residentBytes()).isEmpty();
        Path status = Files.writeString(tmp.resolve("status"), "Name:\tjava\n");
        assertThat(new MemoryProbe(status).residentBytes()).isEmpty();
    }

    @Test
    void heapIsPositive() {
        assertThat(MemoryProbe.system().heapUsedAfterGc()).isPositive();
    }
}
