package org.sd3j.onnx.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

import org.sd3j.ModelLoadException;
import org.sd3j.internal.Checks;
import org.sd3j.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code .safetensors} file, memory-mapped. See {@link TensorSource} for the contract (threads, ownership,
 * errors) and {@link Safetensors#open(Path)} to open a file, an index or a folder alike.
 *
 * <p>{@link #open(Path)} validates the whole header (see the rules on the package documentation) and maps the data section
 * read-only. A single mapping is limited to 2 GB, so the data are mapped in segments of whole, consecutive tensors
 * of at most 1 GiB each (a tensor between 1 and 2 GiB gets a segment of its own); all positions are {@code long}s,
 * so files of any size work. Segments rather than one mapping per tensor keep the number of kernel mappings low
 * (checkpoints have thousands of tensors). {@link #bytes(String)} returns a slice of its segment: zero-copy, with
 * the alignment the tensor has in the file. A tensor larger than 2 GB cannot be mapped: the file opens, and only
 * reading that tensor fails.
 *
 * <p>No file handle is held after {@code open} returns: the mappings stay valid on their own. If another process
 * truncates the file while it is mapped, reading the lost pages crashes the JVM (a SIGBUS): don't rewrite
 * checkpoints in place while they are open.
 *
 * <p>Thread-safe; immutable after {@code open} apart from the closed flag.
 */
public final class SafetensorsFile implements TensorSource {
    private static final Logger LOG = LoggerFactory.getLogger(SafetensorsFile.class);

    /** Tensors are grouped into mappings of at most this many bytes. */
    static final long DEFAULT_SEGMENT_BYTES = 1L << 30;
    /** The most one mapping ({@link java.nio.MappedByteBuffer}) can hold. */
    static final long MAX_MAPPING_BYTES = Integer.MAX_VALUE;

    private static final ByteBuffer EMPTY = ByteBuffer.allocateDirect(0).asReadOnlyBuffer();

    private final Path path;
    private final Map<String, Entry> entries; // sorted by name
    private final Set<String> names;
    private final Map<String, String> metadata;
    private final long maxMappingBytes;
    private volatile boolean closed;

    /** A tensor and where its bytes are: a slice of {@code segment} at {@code offset}, or unmappable if null. */
    private record Entry(TensorInfo info, ByteBuffer segment, int offset) {
    }

    private SafetensorsFile(Path path, Map<String, Entry> entries, Map<String, String> metadata, long maxMappingBytes) {
        this.path = path;
        this.entries = entries;
        this.names = Collections.unmodifiableSet(entries.keySet());
        this.metadata = metadata;
        this.maxMappingBytes = maxMappingBytes;
    }

    /**
     * Opens and validates {@code file}. The caller owns the result and must close it.
     *
     * @throws IllegalArgumentException if {@code file} is null
     * @throws ModelLoadException       if the file is missing, unreadable or not a valid safetensors file; the
     *                                  message names the file, the tensor, what was expected and what was found
     */
    public static SafetensorsFile open(Path file) {
        return open(file, DEFAULT_SEGMENT_BYTES, MAX_MAPPING_BYTES);
    }

    /** {@link #open(Path)} with other mapping limits, so that tests can exercise them on small files. */
    static SafetensorsFile open(Path file, long segmentBytes, long maxMappingBytes) {
        if (file == null) {
            throw new IllegalArgumentException("file must be non-null, found null");
        }
        if (Files.isDirectory(file)) {
            throw new ModelLoadException(file, "is a directory, expected a .safetensors file"
                    + " (Safetensors.open accepts folders)");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            HeaderParser.Header header = HeaderParser.read(file, ch, size);
            Map<String, Entry> entries = map(file, ch, header, segmentBytes, maxMappingBytes);
            LOG.debug("Opened {}: {} tensors, {} bytes", file, entries.size(), size);
            return new SafetensorsFile(file, entries, header.metadata(), maxMappingBytes);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException(file, "no such file", e);
        } catch (AccessDeniedException e) {
            throw new ModelLoadException(file, "permission denied", e);
        } catch (IOException e) {
            throw new ModelLoadException(file, "cannot read: " + e, e);
        }
    }

    /** Maps the tensors, in offset order, into segments of consecutive tensors. */
    private static Map<String, Entry> map(Path file, FileChannel ch, HeaderParser.Header header, long segmentBytes,
            long maxMappingBytes) throws IOException {
        Map<String, Entry> entries = new TreeMap<>();
        List<TensorInfo> pending = new ArrayList<>();
        for (TensorInfo info : header.tensorsByOffset()) {
            if (info.byteSize() == 0) {
                entries.put(info.name(), new Entry(info, EMPTY, 0));
            } else if (info.byteSize() > maxMappingBytes) {
                mapSegment(ch, header.dataStart(), pending, entries);
                entries.put(info.name(), new Entry(info, null, 0));
            } else {
                if (!pending.isEmpty() && info.end() - pending.get(0).begin() > segmentBytes) {
                    mapSegment(ch, header.dataStart(), pending, entries);
                }
                pending.add(info);
            }
        }
        mapSegment(ch, header.dataStart(), pending, entries);
        return Collections.unmodifiableMap(entries);
    }

    private static void mapSegment(FileChannel ch, long dataStart, List<TensorInfo> tensors, Map<String, Entry> entries)
            throws IOException {
        if (tensors.isEmpty()) {
            return;
        }
        long begin = tensors.get(0).begin();
        long end = tensors.get(tensors.size() - 1).end();
        ByteBuffer segment = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + begin, end - begin);
        for (TensorInfo info : tensors) {
            entries.put(info.name(), new Entry(info, segment, (int) (info.begin() - begin)));
        }
        tensors.clear();
    }

    /** The file this source reads. */
    public Path path() {
        return path;
    }

    @Override
    public Set<String> names() {
        checkOpen();
        return names;
    }

    @Override
    public TensorInfo info(String name) {
        return entry(name).info();
    }

    @Override
    public Optional<TensorInfo> find(String name) {
        checkOpen();
        Checks.notNull(name, "name");
        Entry e = entries.get(name);
        return e == null ? Optional.empty() : Optional.of(e.info());
    }

    @Override
    public Map<String, String> metadata() {
        checkOpen();
        return metadata;
    }

    @Override
    public ByteBuffer bytes(String name) {
        return bytes(entry(name));
    }

    private ByteBuffer bytes(Entry e) {
        if (e.segment() == null) {
            throw new ModelLoadException(path, "tensor '" + e.info().name() + "' holds " + e.info().byteSize()
                    + " bytes, more than the " + maxMappingBytes + " one memory mapping can hold");
        }
        return e.segment().slice(e.offset(), (int) e.info().byteSize()).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public Path pathOf(String name) {
        entry(name);
        return path;
    }

    @Override
    public Tensor toFloatTensor(String name) {
        Entry e = entry(name);
        return Conversions.toFloatTensor(path, e.info(), bytes(e));
    }

    @Override
    public long[] toLongArray(String name) {
        Entry e = entry(name);
        return Conversions.toLongArray(path, e.info(), bytes(e));
    }

    @Override
    public LoadedTensor forInference(String name) {
        Entry e = entry(name);
        Conversions.checkInferenceDtype(path, e.info()); // before mapping: the dtype error comes first
        return Conversions.forInference(path, e.info(), bytes(e));
    }

    /**
     * Closes this source and unmaps the file; idempotent. Every buffer handed out (by {@link #bytes},
     * {@link #forInference} without conversion) becomes invalid: close only after everything reading them (ONNX
     * Runtime sessions included) is closed, and never while another thread reads.
     */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            java.util.Set<ByteBuffer> segments = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            for (Entry e : entries.values()) {
                if (e.segment() != null && e.segment() != EMPTY) {
                    segments.add(e.segment());
                }
            }
            segments.forEach(Unmapper::unmap);
            LOG.debug("Closed {} ({} mappings released)", path, segments.size());
        }
    }

    private Entry entry(String name) {
        checkOpen();
        Checks.notNull(name, "name");
        Entry e = entries.get(name);
        if (e == null) {
            throw new ModelLoadException(path, "missing tensor '" + name + "'");
        }
        return e;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(path + " is closed");
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + entries.size() + " tensors" + (closed ? ", closed" : "") + "]";
    }
}
