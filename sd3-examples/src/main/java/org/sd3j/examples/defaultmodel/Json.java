package org.sd3j.examples.defaultmodel;

import java.io.IOException;
import java.nio.file.Path;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;

import org.sd3j.internal.AtomicFiles;

/** Pretty-printed JSON with {@code \n} line ends on every OS, so the written files are the same bytes everywhere. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();
    private static final ObjectWriter WRITER = MAPPER.writer(new DefaultPrettyPrinter()
            .withObjectIndenter(new DefaultIndenter("  ", "\n")));

    private Json() {
    }

    /** Writes {@code value} (maps keep their iteration order: use ordered maps) to {@code file}, atomically. */
    static void write(Path file, Object value) throws IOException {
        AtomicFiles.write(file, tmp -> WRITER.writeValue(tmp.toFile(), value));
    }
}
