package org.sd3j.onnx.safetensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.sd3j.ModelLoadException;

/** Entry point: opens whatever form a safetensors checkpoint comes in. */
public final class Safetensors {
    /** Suffix of a sharded checkpoint's index. */
    public static final String INDEX_SUFFIX = ".safetensors.index.json";
    /** Suffix of a safetensors file. */
    public static final String FILE_SUFFIX = ".safetensors";

    private Safetensors() {
    }

    /**
     * Opens {@code path}, which is one of:
     * <ul>
     *   <li>a {@code *.json} file: the index of a sharded checkpoint ({@link ShardedSafetensors});</li>
     *   <li>any other file: one safetensors file ({@link SafetensorsFile});</li>
     *   <li>a directory holding exactly one {@code *.safetensors.index.json} (preferred, e.g. a diffusers
     *       {@code transformer/} folder with {@code diffusion_pytorch_model.safetensors.index.json}), or else
     *       exactly one {@code *.safetensors} file (e.g. {@code diffusion_pytorch_model.safetensors}).</li>
     * </ul>
     * The caller owns the result and must close it.
     *
     * @throws IllegalArgumentException if {@code path} is null
     * @throws ModelLoadException       if nothing loadable is there, a folder is ambiguous (several candidates: the
     *                                  message lists them), or the checkpoint is invalid
     */
    public static TensorSource open(Path path) {
        if (path == null) {
            throw new IllegalArgumentException("path must be non-null, found null");
        }
        if (Files.isDirectory(path)) {
            return openFolder(path);
        }
        if (!Files.exists(path)) {
            throw new ModelLoadException(path, "no such file or directory");
        }
        String name = path.getFileName() == null ? "" : path.getFileName().toString();
        return name.endsWith(".json") ? ShardedSafetensors.open(path) : SafetensorsFile.open(path);
    }

    private static TensorSource openFolder(Path dir) {
        List<String> names;
        try (Stream<Path> list = Files.list(dir)) {
            names = list.filter(Files::isRegularFile)
                    .map(p -> p.getFileName().toString())
                    .sorted()
                    .collect(Collectors.toList());
        } catch (IOException e) {
            throw new ModelLoadException(dir, "cannot list the folder: " + e, e);
        }
        List<String> indexes = names.stream().filter(n -> n.endsWith(INDEX_SUFFIX)).collect(Collectors.toList());
        if (indexes.size() == 1) {
            return ShardedSafetensors.open(dir.resolve(indexes.get(0)));
        }
        if (indexes.size() > 1) {
            throw new ModelLoadException(dir, "holds several safetensors indexes " + indexes
                    + "; expected one: pass the one to use");
        }
        List<String> files = names.stream().filter(n -> n.endsWith(FILE_SUFFIX)).collect(Collectors.toList());
        if (files.size() == 1) {
            return SafetensorsFile.open(dir.resolve(files.get(0)));
        }
        if (files.isEmpty()) {
            throw new ModelLoadException(dir, "holds no *" + FILE_SUFFIX + " file and no *" + INDEX_SUFFIX
                    + "; expected exactly one of them");
        }
        throw new ModelLoadException(dir, "holds several " + FILE_SUFFIX + " files " + files
                + " and no index; expected one: pass the file to use");
    }
}
