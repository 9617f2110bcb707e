package org.sd3j.examples.defaultmodel;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.sd3j.ModelLoadException;
import org.sd3j.internal.AtomicFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code sd3} command's bundled default model: an optimum-layout ONNX folder (SPEC §6) that the build writes
 * with {@link DefaultModelWriter} into the classpath folder {@value #RESOURCE_FOLDER} (so it is inside
 * {@code sd3.jar}), together with the index {@value #INDEX} listing its files. For now the weights are random (a
 * placeholder until the trained default model lands): images come out as structured noise, not pictures.
 *
 * <p>ONNX Runtime loads models from files, so the folder is {@linkplain #extract(Path) extracted} first; load the
 * result with {@code Sd3Model.load(path, OnnxOptions.cpu())}. The model's native image size is
 * {@value DefaultModelWriter#IMAGE_SIZE} x {@value DefaultModelWriter#IMAGE_SIZE} pixels.
 *
 * <pre>{@code
 * try (DefaultModel.Extracted folder = DefaultModel.extractToTempDirectory();
 *      Sd3Model model = Sd3Model.load(folder.path(), OnnxOptions.cpu())) {
 *     model.pipelineBuilder().size(64, 64).build().generate("a red circle").writePng(0, Path.of("out.png"));
 * }
 * }</pre>
 * Stateless and thread-safe (two threads extracting into the same folder each replace whole files atomically).
 */
public final class DefaultModel {
    private static final Logger LOG = LoggerFactory.getLogger(DefaultModel.class);

    /** Classpath folder of the bundled model (no leading slash, trailing slash). */
    public static final String RESOURCE_FOLDER = "org/sd3j/examples/default-model/";
    /** The index file in {@link #RESOURCE_FOLDER}: one relative, {@code /}-separated file path per line. */
    public static final String INDEX = "files.txt";

    private DefaultModel() {
    }

    /** Whether the bundled model is on the classpath (it is in {@code sd3.jar} and after {@code mvn package}). */
    public static boolean isBundled() {
        return DefaultModel.class.getClassLoader().getResource(RESOURCE_FOLDER + INDEX) != null;
    }

    /**
     * The bundled model's files, relative to its folder, as listed in {@value #INDEX}.
     *
     * @throws ModelLoadException if the model is not on the classpath or its index is malformed
     */
    public static List<String> files() {
        List<String> files = new ArrayList<>();
        try (InputStream in = open(INDEX);
             BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (!line.isBlank()) {
                    files.add(checkEntry(line.strip()));
                }
            }
        } catch (IOException e) {
            throw new ModelLoadException(null, "cannot read the bundled default model's index "
                    + RESOURCE_FOLDER + INDEX + ": " + e.getMessage(), e);
        }
        if (files.isEmpty()) {
            throw new ModelLoadException(null, "the bundled default model's index " + RESOURCE_FOLDER + INDEX
                    + " must list at least one file, found none: rebuild sd3-examples (mvn package)");
        }
        return List.copyOf(files);
    }

    /**
     * Copies the bundled model into {@code dir} (created if missing): each file is written to a temp name beside its
     * target, then moved into place, so an interrupted extraction never leaves a half-written file under a real
     * name. Files of the same names are replaced; other files in {@code dir} are left alone. The caller owns
     * {@code dir}.
     *
     * @return {@code dir}
     * @throws ModelLoadException if the model is not on the classpath, a listed file is missing, or writing fails
     *                            (the message names the file)
     */
    public static Path extract(Path dir) {
        Objects.requireNonNull(dir, "dir");
        List<String> files = files();
        long bytes = 0;
        for (String f : files) {
            Path target = dir.resolve(f);
            try (InputStream in = open(f)) {
                AtomicFiles.write(target, tmp -> Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING));
                bytes += Files.size(target);
            } catch (IOException e) {
                throw new ModelLoadException(target, "cannot extract the bundled default model's file " + f + ": "
                        + e.getMessage(), e);
            }
        }
        LOG.info("Extracted the bundled default model ({} files, {} bytes) to {}", files.size(), bytes, dir);
        return dir;
    }

    /**
     * Extracts the bundled model into a new temp folder, deleted when the returned handle is closed.
     *
     * @throws ModelLoadException as {@link #extract(Path)}; the temp folder is deleted first
     */
    public static Extracted extractToTempDirectory() {
        Path dir;
        try {
            dir = Files.createTempDirectory("sd3j-default-model-");
        } catch (IOException e) {
            throw new ModelLoadException(null, "cannot create a temp folder for the bundled default model: "
                    + e.getMessage(), e);
        }
        try {
            return new Extracted(extract(dir));
        } catch (RuntimeException e) {
            try {
                DefaultModelWriter.deleteTree(dir);
            } catch (RuntimeException secondary) {
                e.addSuppressed(secondary);
            }
            throw e;
        }
    }

    /**
     * An extracted copy of the bundled model in a temp folder it owns: {@link #close()} deletes the folder
     * (idempotent; a failure to delete is logged as a WARN naming the folder, not thrown). Close models loaded from
     * it first.
     */
    public static final class Extracted implements AutoCloseable {
        private final Path path;
        private boolean closed;

        private Extracted(Path path) {
            this.path = path;
        }

        /** The model folder (pass it to {@code Sd3Model.load}). */
        public Path path() {
            return path;
        }

        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                DefaultModelWriter.deleteTree(path);
            } catch (RuntimeException e) {
                LOG.warn("Cannot delete the extracted default model {} ({}): delete the folder by hand", path,
                        e.getMessage());
            }
        }

        @Override
        public String toString() {
            return "DefaultModel.Extracted[" + path + "]";
        }
    }

    private static InputStream open(String file) throws IOException {
        String name = RESOURCE_FOLDER + file;
        InputStream in = DefaultModel.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new ModelLoadException(null, "the bundled default model is not on the classpath: missing resource "
                    + name + " (it is written by sd3-examples' build: run mvn package, or use sd3.jar)");
        }
        return in;
    }

    /** An index entry must stay inside the model folder: relative, no {@code ..}, {@code /}-separated. */
    private static String checkEntry(String entry) {
        if (entry.startsWith("/") || entry.contains("\\") || entry.contains(":")
                || List.of(entry.split("/")).contains("..")) {
            throw new ModelLoadException(null, "the bundled default model's index " + RESOURCE_FOLDER + INDEX
                    + " must list relative paths inside the folder, found '" + entry + "'");
        }
        return entry;
    }
}
