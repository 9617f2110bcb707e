package org.sd3j.onnx.safetensors;

import java.io.EOFException;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.ModelLoadException;

/**
 * Reads and validates a safetensors header; never trusts it. The rules, those of the reference reader, are listed
 * on the package ({@code package-info.java}); each failure names the file, the tensor, what was expected and what
 * was found.
 */
final class HeaderParser {
    /** The reference's limit on the header length. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";
    private static final int RENDER_MAX = 120;

    /** A validated header. */
    record Header(long headerLength, Map<String, String> metadata, List<TensorInfo> tensorsByOffset) {
        long dataStart() {
            return 8 + headerLength;
        }
    }

    private HeaderParser() {
    }

    /** Reads and validates the header of the file open on {@code ch}, which is {@code fileSize} bytes long. */
    static Header read(Path path, FileChannel ch, long fileSize) throws IOException {
        if (fileSize < 8) {
            throw fail(path, "file holds " + fileSize + " bytes, fewer than the 8 of the header length field"
                    + " (a safetensors file starts with its header length as a little-endian 64-bit integer)");
        }
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, len, 0);
        long n = len.getLong(0);
        checkHeaderLength(path, n, fileSize);
        byte[] header = new byte[(int) n];
        readFully(ch, ByteBuffer.wrap(header), 8);
        return parse(path, header, fileSize - 8 - n);
    }

    static void checkHeaderLength(Path path, long n, long fileSize) {
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw fail(path, "header length " + Long.toUnsignedString(n) + " exceeds the limit of "
                    + MAX_HEADER_BYTES + " bytes (the first 8 bytes are not a safetensors header length)");
        }
        if (n > fileSize - 8) {
            throw fail(path, "header length " + n + " runs past the end of the file: only " + (fileSize - 8)
                    + " bytes follow the length field (is the file truncated?)");
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) {
                throw new EOFException("file ended at byte " + pos + " while reading the header");
            }
            pos += r;
        }
    }

    /** Validates header bytes followed by a data section of {@code dataSize} bytes. */
    static Header parse(Path path, byte[] header, long dataSize) {
        String text;
        try {
            text = Json.decodeUtf8(header);
        } catch (Json.Utf8Exception e) {
            throw fail(path, "header is not valid UTF-8: bad byte 0x"
                    + String.format("%02x", header[Math.min(e.byteOffset, header.length - 1)] & 0xFF)
                    + " at header offset " + e.byteOffset);
        }
        if (text.isEmpty() || text.charAt(0) != '{') {
            throw fail(path, "header must start with '{', found "
                    + (header.length == 0 ? "an empty header" : String.format("byte 0x%02x", header[0] & 0xFF))
                    + " (header length " + header.length + ")");
        }
        Object root;
        try {
            root = Json.parse(text);
        } catch (Json.SyntaxException e) {
            throw fail(path, "header is not valid JSON" + (e.charOffset >= 0 ? " at character " + e.charOffset : "")
                    + ": " + e.getMessage());
        } catch (Json.DuplicateKeyException e) {
            throw fail(path, duplicateMessage(e));
        }
        if (!(root instanceof Map<?, ?> rootMap)) {
            throw fail(path, "header must be a JSON object, found " + Json.typeName(root));
        }
        Map<String, String> metadata = Collections.emptyMap();
        List<TensorInfo> tensors = new ArrayList<>(rootMap.size());
        for (Map.Entry<?, ?> e : rootMap.entrySet()) {
            String key = (String) e.getKey();
            if (METADATA_KEY.equals(key)) {
                metadata = parseMetadata(path, e.getValue());
            } else {
                tensors.add(parseEntry(path, key, e.getValue(), dataSize));
            }
        }
        tensors.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end)
                .thenComparing(TensorInfo::name));
        checkCoverage(path, tensors, dataSize);
        return new Header(header.length, metadata, Collections.unmodifiableList(tensors));
    }

    private static String duplicateMessage(Json.DuplicateKeyException e) {
        if (e.parents.isEmpty()) {
            return METADATA_KEY.equals(e.key) ? "header holds " + METADATA_KEY + " twice"
                    : "tensor '" + e.key + "' appears twice in the header (names must be unique)";
        }
        String owner = e.parents.get(0);
        String where = METADATA_KEY.equals(owner) ? METADATA_KEY : "tensor '" + owner + "'";
        return where + ": key '" + e.key + "' appears twice";
    }

    private static Map<String, String> parseMetadata(Path path, Object value) {
        if (value == Json.NULL) {
            return Collections.emptyMap();
        }
        if (!(value instanceof Map<?, ?> m)) {
            throw fail(path, METADATA_KEY + " must be an object of strings, found " + Json.typeName(value) + " "
                    + Json.render(value, RENDER_MAX));
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            String key = (String) e.getKey();
            if (!(e.getValue() instanceof String s)) {
                throw fail(path, METADATA_KEY + " value of '" + key + "' must be a string, found "
                        + Json.typeName(e.getValue()) + " " + Json.render(e.getValue(), RENDER_MAX));
            }
            requireUnicode(path, METADATA_KEY + " key", key);
            requireUnicode(path, METADATA_KEY + " value of '" + key + "'", s);
            out.put(key, s);
        }
        return Collections.unmodifiableMap(out);
    }

    private static void requireUnicode(Path path, String what, String s) {
        int i = Json.unpairedSurrogate(s);
        if (i >= 0) {
            throw fail(path, what + " must be valid Unicode, found an unpaired surrogate \\u"
                    + String.format("%04x", (int) s.charAt(i)) + " at index " + i);
        }
    }

    private static TensorInfo parseEntry(Path path, String name, Object value, long dataSize) {
        requireUnicode(path, "tensor name '" + name + "'", name);
        String t = "tensor '" + name + "': ";
        if (!(value instanceof Map<?, ?> m)) {
            throw fail(path, t + "entry must be an object with dtype, shape and data_offsets, found "
                    + Json.typeName(value) + " " + Json.render(value, RENDER_MAX));
        }
        Object dtypeValue = field(path, t, m, "dtype");
        Object shapeValue = field(path, t, m, "shape");
        Object offsetsValue = field(path, t, m, "data_offsets");

        if (!(dtypeValue instanceof String dtypeName)) {
            throw fail(path, t + "dtype must be a string, found " + Json.typeName(dtypeValue) + " "
                    + Json.render(dtypeValue, RENDER_MAX));
        }
        DType dtype;
        try {
            dtype = DType.parse(dtypeName);
        } catch (IllegalArgumentException e) {
            throw fail(path, t + "unknown dtype '" + (dtypeName.length() > 40 ? dtypeName.substring(0, 40) + "..."
                    : dtypeName) + "', expected one of " + DType.knownNames());
        }

        long[] shape = nonNegativeLongs(path, t, "shape", shapeValue, -1);
        long[] offsets = nonNegativeLongs(path, t, "data_offsets", offsetsValue, 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (end < begin) {
            throw fail(path, t + "data_offsets " + Arrays.toString(offsets) + " end before they begin");
        }
        long bytes;
        try {
            bytes = TensorInfo.checkedByteSize(dtype, shape);
        } catch (IllegalArgumentException e) {
            throw fail(path, t + dtype + " x " + Arrays.toString(shape) + " needs more than "
                    + Long.MAX_VALUE + " bytes (the shape overflows)");
        }
        if (end - begin != bytes) {
            throw fail(path, t + "data_offsets " + Arrays.toString(offsets) + " hold " + (end - begin)
                    + " bytes, but " + dtype + " x " + Arrays.toString(shape) + " needs " + bytes);
        }
        if (end > dataSize) {
            throw fail(path, t + "data_offsets " + Arrays.toString(offsets)
                    + " run past the end of the data section, which holds " + dataSize + " bytes");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static Object field(Path path, String t, Map<?, ?> entry, String key) {
        Object v = entry.get(key);
        if (v == null) {
            throw fail(path, t + "missing field '" + key + "' (an entry needs dtype, shape and data_offsets), found "
                    + Json.render(entry, RENDER_MAX));
        }
        return v;
    }

    /** A JSON array of non-negative integers that fit a long; of length {@code length} unless it is -1. */
    private static long[] nonNegativeLongs(Path path, String t, String field, Object value, int length) {
        String expected = length == 2 ? "two non-negative integers [begin, end]" : "an array of non-negative integers";
        if (!(value instanceof List<?> list) || (length >= 0 && list.size() != length)) {
            throw fail(path, t + field + " must be " + expected + ", found " + Json.render(value, RENDER_MAX));
        }
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object v = list.get(i);
            if (v instanceof Long l && l >= 0) {
                out[i] = l;
            } else if (v instanceof BigInteger b && b.signum() > 0) {
                throw fail(path, t + field + " " + Json.render(value, RENDER_MAX) + " holds " + b
                        + ", larger than " + Long.MAX_VALUE + " (no file is that large)");
            } else {
                throw fail(path, t + field + " must be " + expected + ", found " + Json.render(value, RENDER_MAX));
            }
        }
        return out;
    }

    private static void checkCoverage(Path path, List<TensorInfo> byOffset, long dataSize) {
        long cursor = 0;
        TensorInfo previous = null;
        for (TensorInfo info : byOffset) {
            String t = "tensor '" + info.name() + "': data_offsets [" + info.begin() + ", " + info.end() + "]";
            if (info.begin() < cursor) {
                throw fail(path, t + " overlap tensor '" + previous.name() + "' at [" + previous.begin() + ", "
                        + previous.end() + "]");
            }
            if (info.begin() > cursor) {
                String gap = "[" + cursor + ", " + info.begin() + ")";
                throw fail(path, t + (previous == null
                        ? " leave bytes " + gap + " at the start of the data section unused"
                        : " leave bytes " + gap + " unused after tensor '" + previous.name() + "' at ["
                                + previous.begin() + ", " + previous.end() + "]")
                        + " (tensors must cover the data section without gaps, as the safetensors reference requires)");
            }
            cursor = info.end();
            previous = info;
        }
        if (cursor != dataSize) {
            throw fail(path, "the data section holds " + dataSize + " bytes, but "
                    + (byOffset.isEmpty() ? "the header lists no tensors"
                            : "the tensors cover only the first " + cursor + " (the last is '" + previous.name() + "')")
                    + "; trailing bytes are not allowed, as in the safetensors reference");
        }
    }

    static ModelLoadException fail(Path path, String message) {
        return new ModelLoadException(path, message);
    }
}
