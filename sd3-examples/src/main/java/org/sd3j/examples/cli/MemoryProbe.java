package org.sd3j.examples.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Memory figures for {@code --benchmark}: the Java heap in use after a full GC (what the JVM keeps live) and the
 * process's resident set size (Java heap plus native memory: ONNX Runtime's arenas, mapped weights), read from
 * {@code /proc/self/status} ({@code VmRSS}) where that exists (Linux).
 */
final class MemoryProbe {
    static final Path PROC_STATUS = Path.of("/proc/self/status");

    private final Path status;

    MemoryProbe(Path status) {
        this.status = status;
    }

    static MemoryProbe system() {
        return new MemoryProbe(PROC_STATUS);
    }

    /** {@code totalMemory - freeMemory} after {@link System#gc()}. */
    long heapUsedAfterGc() {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        return rt.totalMemory() - rt.freeMemory();
    }

    /** The resident set size in bytes; empty where the status file is missing or has no {@code VmRSS} line. */
    OptionalLong residentBytes() {
        if (!Files.isReadable(status)) {
            return OptionalLong.empty();
        }
        try {
            for (String line : Files.readAllLines(status, StandardCharsets.UTF_8)) {
                if (line.startsWith("VmRSS:")) {
                    String[] parts = line.substring("VmRSS:".length()).trim().split("\\s+");
                    long value = Long.parseLong(parts[0]);
                    return OptionalLong.of(parts.length > 1 && parts[1].equalsIgnoreCase("kB") ? value * 1024 : value);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
        return OptionalLong.empty();
    }
}
