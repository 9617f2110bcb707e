package org.sd3j.onnx.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

import org.sd3j.ModelLoadException;
import org.sd3j.internal.Checks;
import org.sd3j.internal.Closeables;
import org.sd3j.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A checkpoint split into several safetensors files ("shards") with an index, as Hugging Face libraries write
 * it: {@code model.safetensors.index.json} (or {@code diffusion_pytorch_model.safetensors.index.json}) holding
 * <pre>{"metadata": {"total_size": 123}, "weight_map": {"tensor name": "shard file name", ...}}</pre>
 * See {@link TensorSource} for the contract (threads, ownership, errors).
 *
 * <p>{@link #open(Path)} opens each shard named in {@code weight_map} once (validating its header), relative to the
 * index's folder, and checks that every listed tensor is in the shard the index names and that no tensor is in
 * two shards. Tensors that a shard holds but the index doesn't list are served too. {@link #metadata()} merges
 * the shards' {@code __metadata__} (the first shard, by file name, wins on conflicts) under the index's
 * {@code "metadata"}, whose non-string values appear as their JSON text ({@code "total_size" -> "123"}).
 * Errors name the index and, where one is involved, the shard.
 *
 * <p>Thread-safe. Closing closes every shard.
 */
public final class ShardedSafetensors implements TensorSource {
    private static final Logger LOG = LoggerFactory.getLogger(ShardedSafetensors.class);

    private final Path index;
    private final List<SafetensorsFile> shards;
    private final Map<String, SafetensorsFile> owners; // sorted by name
    private final Set<String> names;
    private final Map<String, String> metadata;
    private volatile boolean closed;

    private ShardedSafetensors(Path index, List<SafetensorsFile> shards, Map<String, SafetensorsFile> owners,
            Map<String, String> metadata) {
        this.index = index;
        this.shards = shards;
        this.owners = owners;
        this.names = Collections.unmodifiableSet(owners.keySet());
        this.metadata = metadata;
    }

    /**
     * Opens the checkpoint described by {@code indexJson}. The caller owns the result and must close it.
     *
     * @throws IllegalArgumentException if {@code indexJson} is null
     * @throws ModelLoadException       if the index or a shard is missing or invalid, a listed tensor is not in
     *                                  its shard, or a tensor is in two shards
     */
    public static ShardedSafetensors open(Path indexJson) {
        if (indexJson == null) {
            throw new IllegalArgumentException("indexJson must be non-null, found null");
        }
        Map<?, ?> root = readIndex(indexJson);
        Object weightMapValue = root.get("weight_map");
        if (!(weightMapValue instanceof Map<?, ?> weightMap)) {
            throw fail(indexJson, "index must hold \"weight_map\": an object from tensor names to shard file names, "
                    + "found " + (weightMapValue == null ? "no such key" : Json.render(weightMapValue, 120)));
        }
        Path folder = indexJson.toAbsolutePath().getParent();
        // shard file name -> the tensors the index puts there, in index order
        Map<String, List<String>> byShard = new TreeMap<>();
        for (Map.Entry<?, ?> e : weightMap.entrySet()) {
            String tensor = (String) e.getKey();
            if (!(e.getValue() instanceof String shard)) {
                throw fail(indexJson, "weight_map entry for tensor '" + tensor + "' must be a shard file name, found "
                        + Json.render(e.getValue(), 120));
            }
            checkShardName(indexJson, folder, tensor, shard);
            byShard.computeIfAbsent(shard, k -> new ArrayList<>()).add(tensor);
        }

        List<SafetensorsFile> shards = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            for (Map.Entry<String, List<String>> e : byShard.entrySet()) {
                SafetensorsFile shard = openShard(indexJson, folder, e.getKey(), e.getValue());
                shards.add(shard);
                byName.put(e.getKey(), shard);
            }
            Map<String, SafetensorsFile> owners = new TreeMap<>();
            Map<String, String> shardOf = new TreeMap<>();
            Map<String, String> merged = new LinkedHashMap<>();
            for (Map.Entry<String, SafetensorsFile> e : byName.entrySet()) {
                for (String name : e.getValue().names()) {
                    String other = shardOf.putIfAbsent(name, e.getKey());
                    if (other != null) {
                        throw fail(indexJson, "tensor '" + name + "' is in two shards, '" + other + "' and '"
                                + e.getKey() + "' (names must be unique across shards)");
                    }
                    owners.put(name, e.getValue());
                }
                e.getValue().metadata().forEach(merged::putIfAbsent);
            }
            for (Map.Entry<String, List<String>> e : byShard.entrySet()) {
                for (String tensor : e.getValue()) {
                    String actual = shardOf.get(tensor);
                    if (!e.getKey().equals(actual)) {
                        throw fail(indexJson, "weight_map puts tensor '" + tensor + "' in shard '" + e.getKey()
                                + "', but that shard has no such tensor"
                                + (actual == null ? "" : " (it is in shard '" + actual + "')"));
                    }
                }
            }
            if (owners.size() > weightMap.size()) {
                LOG.debug("{}: the shards hold {} tensors that weight_map does not list", indexJson,
                        owners.size() - weightMap.size());
            }
            merged.putAll(indexMetadata(indexJson, root.get("metadata")));
            LOG.debug("Opened {}: {} tensors in {} shards", indexJson, owners.size(), shards.size());
            return new ShardedSafetensors(indexJson, List.copyOf(shards), Collections.unmodifiableMap(owners),
                    Collections.unmodifiableMap(merged));
        } catch (RuntimeException | Error e) {
            for (int i = shards.size() - 1; i >= 0; i--) {
                try {
                    shards.get(i).close();
                } catch (RuntimeException closeFailure) {
                    e.addSuppressed(closeFailure);
                }
            }
            throw e;
        }
    }

    private static Map<?, ?> readIndex(Path indexJson) {
        byte[] bytes;
        try {
            if (Files.isDirectory(indexJson)) {
                throw fail(indexJson, "is a directory, expected a .safetensors.index.json file");
            }
            long size = Files.size(indexJson);
            if (size > HeaderParser.MAX_HEADER_BYTES) {
                throw fail(indexJson, "index holds " + size + " bytes, more than the limit of "
                        + HeaderParser.MAX_HEADER_BYTES);
            }
            bytes = Files.readAllBytes(indexJson);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException(indexJson, "no such file", e);
        } catch (AccessDeniedException e) {
            throw new ModelLoadException(indexJson, "permission denied", e);
        } catch (IOException e) {
            throw new ModelLoadException(indexJson, "cannot read: " + e, e);
        }
        Object root;
        try {
            root = Json.parse(Json.decodeUtf8(bytes));
        } catch (Json.Utf8Exception e) {
            throw fail(indexJson, "index is not valid UTF-8 (bad byte at offset " + e.byteOffset + ")");
        } catch (Json.SyntaxException e) {
            throw fail(indexJson, "index is not valid JSON"
                    + (e.charOffset >= 0 ? " at character " + e.charOffset : "") + ": " + e.getMessage());
        } catch (Json.DuplicateKeyException e) {
            throw fail(indexJson, e.parents.isEmpty() ? "index holds key '" + e.key + "' twice"
                    : "weight_map".equals(e.parents.get(0)) && e.parents.size() == 1
                            ? "weight_map lists tensor '" + e.key + "' twice"
                            : "index: " + String.join(".", e.parents) + " holds key '" + e.key + "' twice");
        }
        if (!(root instanceof Map<?, ?> map)) {
            throw fail(indexJson, "index must be a JSON object with \"weight_map\", found " + Json.typeName(root));
        }
        return map;
    }

    private static void checkShardName(Path indexJson, Path folder, String tensor, String shard) {
        Path resolved;
        try {
            Path p = Path.of(shard);
            resolved = p.isAbsolute() || shard.isEmpty() ? null : folder.resolve(p).normalize();
        } catch (InvalidPathException e) {
            resolved = null;
        }
        if (resolved == null || !resolved.startsWith(folder) || resolved.equals(folder)) {
            throw fail(indexJson, "weight_map entry for tensor '" + tensor + "' must name a file inside "
                    + folder + ", found '" + shard + "'");
        }
    }

    private static SafetensorsFile openShard(Path indexJson, Path folder, String shard, List<String> tensors) {
        Path file = folder.resolve(shard).normalize();
        try {
            return SafetensorsFile.open(file);
        } catch (ModelLoadException e) {
            throw new ModelLoadException(indexJson, "shard '" + shard + "' (listed for '" + tensors.get(0) + "'"
                    + (tensors.size() > 1 ? " and " + (tensors.size() - 1) + " more tensors" : "") + "): "
                    + e.getMessage(), e);
        }
    }

    private static Map<String, String> indexMetadata(Path indexJson, Object value) {
        if (value == null || value == Json.NULL) {
            return Map.of();
        }
        if (!(value instanceof Map<?, ?> m)) {
            throw fail(indexJson, "index \"metadata\" must be an object, found " + Json.render(value, 120));
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            Object v = e.getValue();
            out.put((String) e.getKey(), v instanceof String s ? s : Json.render(v, Integer.MAX_VALUE - 8));
        }
        return out;
    }

    /** The index file this source reads. */
    public Path path() {
        return index;
    }

    /** The shard files, sorted by name. */
    public List<Path> shardPaths() {
        checkOpen();
        List<Path> out = new ArrayList<>();
        for (SafetensorsFile s : shards) {
            out.add(s.path());
        }
        return Collections.unmodifiableList(out);
    }

    @Override
    public Set<String> names() {
        checkOpen();
        return names;
    }

    @Override
    public TensorInfo info(String name) {
        return owner(name).info(name);
    }

    @Override
    public Optional<TensorInfo> find(String name) {
        checkOpen();
        Checks.notNull(name, "name");
        SafetensorsFile s = owners.get(name);
        return s == null ? Optional.empty() : s.find(name);
    }

    @Override
    public Map<String, String> metadata() {
        checkOpen();
        return metadata;
    }

    @Override
    public ByteBuffer bytes(String name) {
        return owner(name).bytes(name);
    }

    @Override
    public Path pathOf(String name) {
        return owner(name).path();
    }

    @Override
    public Tensor toFloatTensor(String name) {
        return owner(name).toFloatTensor(name);
    }

    @Override
    public long[] toLongArray(String name) {
        return owner(name).toLongArray(name);
    }

    @Override
    public LoadedTensor forInference(String name) {
        return owner(name).forInference(name);
    }

    /** Closes every shard, in reverse order; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<SafetensorsFile> reversed = new java.util.ArrayList<>(shards);
        java.util.Collections.reverse(reversed);
        Closeables.closeAll(reversed);
    }

    private SafetensorsFile owner(String name) {
        checkOpen();
        Checks.notNull(name, "name");
        SafetensorsFile s = owners.get(name);
        if (s == null) {
            throw new ModelLoadException(index, "missing tensor '" + name + "'");
        }
        return s;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(index + " is closed");
        }
    }

    private static ModelLoadException fail(Path path, String message) {
        return new ModelLoadException(path, message);
    }

    @Override
    public String toString() {
        return "ShardedSafetensors[" + index + ", " + owners.size() + " tensors in " + shards.size() + " shards"
                + (closed ? ", closed" : "") + "]";
    }
}
