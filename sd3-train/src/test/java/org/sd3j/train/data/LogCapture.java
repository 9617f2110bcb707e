package org.sd3j.train.data;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * Captures what the test logger (slf4j-simple, which writes to whatever {@code System.err} is at each call) logs
 * while a call runs.
 */
final class LogCapture {
    private LogCapture() {
    }

    /** The call's result and everything logged meanwhile. */
    record Captured<T>(T result, String log) {
    }

    static <T> Captured<T> run(Supplier<T> call) {
        PrintStream original = System.err;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            T result = call.get();
            return new Captured<>(result, buffer.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(original);
        }
    }
}
