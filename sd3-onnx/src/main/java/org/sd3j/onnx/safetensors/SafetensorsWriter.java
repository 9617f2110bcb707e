package org.sd3j.onnx.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.Sd3Exception;
import org.sd3j.internal.AtomicFiles;
import org.sd3j.tensor.Tensor;

/**
 * Builds a safetensors file: add tensors and metadata, then {@link #write(Path)}.
 *
 * <p><b>Layout.</b> The same as the Python {@code safetensors} package's {@code save_file} (its Rust
 * {@code prepare}): tensors sorted by descending dtype alignment (the reverse of {@link DType}'s declaration
 * order, so U64, I64, F64, C64, F32, ... BOOL), then by name (code point order, which is the reference's UTF-8
 * byte order), laid out back to back with no gaps; the header is compact JSON ({@code __metadata__} first, only if
 * metadata was added, then the tensors in layout order, each as {@code {"dtype":..,"shape":[..],"data_offsets":[..]}},
 * strings escaped as serde_json does) padded with spaces to a multiple of 8 bytes, so every tensor is aligned to
 * its element size. For the same tensors and at most one metadata entry the output is byte-identical to
 * {@code save_file}'s; with several entries the reference's order is that of a Rust {@code HashMap} (random), this
 * writer keeps insertion order.
 *
 * <p><b>Data lifetime.</b> Buffers and {@link Tensor}s are not copied when added: they are read by {@code write},
 * so they must stay valid and unchanged until then. {@code float[]} arrays are copied when added.
 *
 * <p><b>Atomicity.</b> {@code write} writes a temporary file in the target's folder, forces it to disk and moves it
 * over the target, so readers never see a partial file. Not thread-safe; a writer can write several times.
 */
public final class SafetensorsWriter {
    private static final int CHUNK_BYTES = 1 << 20;

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, Entry> tensors = new LinkedHashMap<>();

    /** Writes one tensor's bytes. */
    private interface Data {
        void writeTo(WritableByteChannel out, ByteBuffer scratch) throws IOException;
    }

    private record Entry(String name, DType dtype, long[] shape, long byteSize, Data data) {
    }

    private SafetensorsWriter() {
    }

    /** A new, empty writer. */
    public static SafetensorsWriter create() {
        return new SafetensorsWriter();
    }

    /** Adds (or replaces) a {@code __metadata__} entry. */
    public SafetensorsWriter metadata(String key, String value) {
        requireText(key, "key");
        requireText(value, "value");
        metadata.put(key, value);
        return this;
    }

    /**
     * Adds a tensor from raw little-endian bytes: {@code littleEndianData}'s bytes from its position to its limit
     * (its byte-order flag is ignored; its position is not changed). Read at {@link #write}.
     *
     * @throws IllegalArgumentException for a null argument, a duplicate or reserved name, a negative dimension, or
     *                                  a byte count other than {@code dtype.byteSize() x elements}
     */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, ByteBuffer littleEndianData) {
        if (littleEndianData == null) {
            throw new IllegalArgumentException("littleEndianData must be non-null, found null");
        }
        long[] s = checkShape(shape);
        long bytes = byteSize(dtype, s);
        if (littleEndianData.remaining() != bytes) {
            throw new IllegalArgumentException("littleEndianData must hold " + bytes + " bytes for " + dtype + " x "
                    + Arrays.toString(s) + ", found " + littleEndianData.remaining());
        }
        ByteBuffer view = littleEndianData.duplicate();
        return put(name, dtype, s, bytes, (out, scratch) -> writeFully(out, view.duplicate()));
    }

    /** Adds a float32 tensor holding a copy of {@code values}, whose length must match {@code shape}. */
    public SafetensorsWriter add(String name, float[] values, long... shape) {
        if (values == null) {
            throw new IllegalArgumentException("values must be non-null, found null");
        }
        long[] s = checkShape(shape);
        long bytes = byteSize(DType.F32, s);
        if (bytes != (long) values.length * Float.BYTES) {
            throw new IllegalArgumentException("values must have " + bytes / Float.BYTES + " elements for shape "
                    + Arrays.toString(s) + ", found " + values.length);
        }
        FloatBuffer copy = FloatBuffer.wrap(values.clone());
        return put(name, DType.F32, s, bytes, (out, scratch) -> writeFloats(out, scratch, copy.duplicate(), DType.F32));
    }

    /** Adds {@code tensor} as F32 (its values are read at {@link #write}). */
    public SafetensorsWriter add(String name, Tensor tensor) {
        return addAs(name, tensor, DType.F32);
    }

    /**
     * Adds {@code tensor} converted to {@code dtype}: F32, F64 (exact), F16 or BF16 (round to nearest even, see
     * {@link Half}). Its values are read at {@link #write}.
     *
     * @throws IllegalArgumentException for another dtype, a null argument or a duplicate name
     */
    public SafetensorsWriter addAs(String name, Tensor tensor, DType dtype) {
        if (tensor == null) {
            throw new IllegalArgumentException("tensor must be non-null, found null");
        }
        if (dtype != DType.F32 && dtype != DType.F64 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new IllegalArgumentException("dtype must be F32, F64, F16 or BF16, found " + dtype);
        }
        long[] s = Arrays.stream(tensor.shape()).asLongStream().toArray();
        long bytes = byteSize(dtype, s);
        return put(name, dtype, s, bytes, (out, scratch) -> writeFloats(out, scratch, tensor.asFloatBuffer(), dtype));
    }

    /** Names of the tensors added so far, in the order they were added. */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    private SafetensorsWriter put(String name, DType dtype, long[] shape, long bytes, Data data) {
        requireText(name, "name");
        if (HeaderParser.METADATA_KEY.equals(name)) {
            throw new IllegalArgumentException("name must not be the reserved " + HeaderParser.METADATA_KEY
                    + ", found " + name);
        }
        if (tensors.containsKey(name)) {
            throw new IllegalArgumentException("name must be unique, found '" + name + "' twice");
        }
        tensors.put(name, new Entry(name, dtype, shape, bytes, data));
        return this;
    }

    private static void requireText(String s, String what) {
        if (s == null) {
            throw new IllegalArgumentException(what + " must be non-null, found null");
        }
        int i = Json.unpairedSurrogate(s);
        if (i >= 0) {
            throw new IllegalArgumentException(what + " must be valid Unicode, found an unpaired surrogate at index "
                    + i + " of '" + s + "'");
        }
    }

    private static long[] checkShape(long[] shape) {
        if (shape == null) {
            throw new IllegalArgumentException("shape must be non-null, found null");
        }
        return shape.clone();
    }

    private static long byteSize(DType dtype, long[] shape) {
        if (dtype == null) {
            throw new IllegalArgumentException("dtype must be non-null, found null");
        }
        return TensorInfo.checkedByteSize(dtype, shape);
    }

    /** The tensors in the reference's layout order: descending dtype alignment, then name. */
    private List<Entry> layout() {
        List<Entry> order = new ArrayList<>(tensors.values());
        order.sort(Comparator.comparing((Entry e) -> e.dtype().ordinal(), Comparator.reverseOrder())
                .thenComparing(Entry::name, SafetensorsWriter::compareCodePoints));
        return order;
    }

    /** Compares by Unicode code points, i.e. as Rust compares UTF-8 strings. */
    static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    /** The header bytes, padded with spaces to a multiple of 8. */
    byte[] header() {
        StringBuilder sb = new StringBuilder();
        sb.append('{');
        boolean first = true;
        if (!metadata.isEmpty()) {
            sb.append("\"").append(HeaderParser.METADATA_KEY).append("\":{");
            boolean firstEntry = true;
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                if (!firstEntry) {
                    sb.append(',');
                }
                firstEntry = false;
                Json.quote(e.getKey(), sb);
                sb.append(':');
                Json.quote(e.getValue(), sb);
            }
            sb.append('}');
            first = false;
        }
        long offset = 0;
        for (Entry e : layout()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            Json.quote(e.name(), sb);
            sb.append(":{\"dtype\":\"").append(e.dtype().name()).append("\",\"shape\":[");
            for (int i = 0; i < e.shape().length; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                sb.append(e.shape()[i]);
            }
            sb.append("],\"data_offsets\":[").append(offset).append(',');
            offset = Math.addExact(offset, e.byteSize());
            sb.append(offset).append("]}");
        }
        sb.append('}');
        byte[] json = sb.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        if (padded > HeaderParser.MAX_HEADER_BYTES) {
            throw new IllegalStateException("header must be at most " + HeaderParser.MAX_HEADER_BYTES
                    + " bytes, found " + padded + " (too many tensors or too much metadata for one file)");
        }
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /**
     * Writes the file atomically (temp file beside it, then moved), replacing {@code file} if it exists.
     *
     * @throws IllegalArgumentException if {@code file} is null
     * @throws IllegalStateException    if the header would exceed the format's 100,000,000-byte limit
     * @throws Sd3Exception             if the file cannot be written (the message names it)
     */
    public void write(Path file) {
        if (file == null) {
            throw new IllegalArgumentException("file must be non-null, found null");
        }
        byte[] header = header();
        try {
            AtomicFiles.write(file, tmp -> {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                    writeFully(ch, len);
                    writeFully(ch, ByteBuffer.wrap(header));
                    ByteBuffer scratch = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                    long expected = 8 + header.length;
                    for (Entry e : layout()) {
                        e.data().writeTo(ch, scratch);
                        expected += e.byteSize();
                        if (ch.position() != expected) {
                            throw new IllegalStateException("tensor '" + e.name() + "' changed size after it was"
                                    + " added: the file is at byte " + ch.position() + ", expected " + expected);
                        }
                    }
                    ch.force(true);
                }
            });
        } catch (IOException e) {
            throw new Sd3Exception(file + ": cannot write safetensors file: " + e, e);
        }
    }

    private static void writeFully(WritableByteChannel out, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            out.write(b);
        }
    }

    /** Writes {@code src}'s floats (position to limit) as {@code dtype}, in chunks through {@code scratch}. */
    private static void writeFloats(WritableByteChannel out, ByteBuffer scratch, FloatBuffer src, DType dtype)
            throws IOException {
        int perChunk = scratch.capacity() / dtype.byteSize();
        while (src.hasRemaining()) {
            int n = Math.min(perChunk, src.remaining());
            scratch.clear();
            switch (dtype) {
                case F32:
                    scratch.asFloatBuffer().put(src.slice().limit(n));
                    src.position(src.position() + n);
                    break;
                case F64:
                    for (int i = 0; i < n; i++) {
                        scratch.putDouble(i * 8, src.get());
                    }
                    break;
                case F16:
                    for (int i = 0; i < n; i++) {
                        scratch.putShort(i * 2, Half.floatToF16(src.get()));
                    }
                    break;
                case BF16:
                    for (int i = 0; i < n; i++) {
                        scratch.putShort(i * 2, Half.floatToBf16(src.get()));
                    }
                    break;
                default:
                    throw new IllegalStateException("unsupported dtype " + dtype);
            }
            scratch.limit(n * dtype.byteSize());
            writeFully(out, scratch);
        }
    }
}
