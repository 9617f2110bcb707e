package org.sd3j.onnx.safetensors;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;

/**
 * A strict JSON reader for untrusted headers, on Jackson's streaming parser: every object key is checked for
 * duplicates at every level (Jackson's tree model silently keeps the last), integers keep their exact value, and
 * every failure is one of two checked exceptions that callers turn into messages naming the file.
 *
 * <p>Values: {@code Map<String, Object>} (insertion order), {@code List<Object>}, {@code String}, {@code Long},
 * {@code BigInteger} (integers beyond {@code long}), {@link Decimal} (numbers with a fraction or exponent),
 * {@code Boolean}, and {@link #NULL}.
 */
final class Json {
    /** JSON {@code null}. */
    static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };

    /** A number with a fraction or an exponent, kept as written. */
    record Decimal(String text) {
        @Override
        public String toString() {
            return text;
        }
    }

    /** The text is not valid JSON (or breaks a parser limit). */
    static final class SyntaxException extends Exception {
        private static final long serialVersionUID = 1L;
        final long charOffset;

        SyntaxException(String message, long charOffset) {
            super(message);
            this.charOffset = charOffset;
        }
    }

    /** An object holds the same key twice. */
    static final class DuplicateKeyException extends Exception {
        private static final long serialVersionUID = 1L;
        /** Keys of the enclosing objects, outermost first; empty for the root object. */
        final List<String> parents;
        final String key;

        DuplicateKeyException(List<String> parents, String key) {
            super("duplicate key '" + key + "'");
            this.parents = parents;
            this.key = key;
        }
    }

    /** The text is not valid UTF-8. */
    static final class Utf8Exception extends Exception {
        private static final long serialVersionUID = 1L;
        final int byteOffset;

        Utf8Exception(int byteOffset) {
            super("invalid UTF-8 at byte " + byteOffset);
            this.byteOffset = byteOffset;
        }
    }

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    // Headers are three levels deep; a low limit keeps recursion shallow on hostile input.
                    .maxNestingDepth(64)
                    // Jackson's defaults (20 M for strings, 50 k for names) would refuse some headers that the
                    // reference accepts; the header's own 100 MB limit bounds both.
                    .maxStringLength((int) HeaderParser.MAX_HEADER_BYTES)
                    .maxNameLength((int) HeaderParser.MAX_HEADER_BYTES)
                    .build())
            .build();

    private Json() {
    }

    /** Decodes strict UTF-8 (no overlong forms, surrogates or truncated sequences, as Rust's from_utf8). */
    static String decodeUtf8(byte[] bytes) throws Utf8Exception {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = decoder.decode(in, out, true);
        if (r.isError()) {
            throw new Utf8Exception(in.position());
        }
        r = decoder.flush(out);
        if (r.isError()) {
            throw new Utf8Exception(in.position());
        }
        return out.flip().toString();
    }

    /** Parses one JSON value that must make up all of {@code text} (surrounding whitespace aside). */
    static Object parse(String text) throws SyntaxException, DuplicateKeyException {
        try (JsonParser p = FACTORY.createParser(text)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                throw new SyntaxException("no JSON value (the text is empty or blank)", 0);
            }
            Object value = readValue(p, t, new ArrayDeque<>());
            JsonToken after = p.nextToken();
            if (after != null) {
                throw new SyntaxException("unexpected " + describe(after) + " after the end of the JSON value",
                        offset(p.currentTokenLocation()));
            }
            return value;
        } catch (JsonProcessingException e) {
            throw new SyntaxException(e.getOriginalMessage(), offset(e.getLocation()));
        } catch (IOException | RuntimeException e) {
            // Jackson documents only JsonProcessingException for bad input; anything else is still bad input.
            throw new SyntaxException(String.valueOf(e.getMessage()), -1);
        }
    }

    private static long offset(JsonLocation location) {
        return location == null ? -1 : location.getCharOffset();
    }

    private static String describe(JsonToken t) {
        return t.asString() != null ? "'" + t.asString() + "'" : t.name().toLowerCase().replace('_', ' ');
    }

    private static Object readValue(JsonParser p, JsonToken t, Deque<String> parents)
            throws IOException, SyntaxException, DuplicateKeyException {
        switch (t) {
            case START_OBJECT: {
                Map<String, Object> map = new LinkedHashMap<>();
                JsonToken k;
                while ((k = p.nextToken()) == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    if (map.containsKey(key)) {
                        throw new DuplicateKeyException(List.copyOf(parents), key);
                    }
                    JsonToken vt = p.nextToken();
                    parents.addLast(key);
                    Object v = readValue(p, vt, parents);
                    parents.removeLast();
                    map.put(key, v);
                }
                if (k != JsonToken.END_OBJECT) {
                    throw new SyntaxException("unterminated object", offset(p.currentTokenLocation()));
                }
                return map;
            }
            case START_ARRAY: {
                List<Object> list = new ArrayList<>();
                JsonToken e;
                while ((e = p.nextToken()) != JsonToken.END_ARRAY) {
                    if (e == null) {
                        throw new SyntaxException("unterminated array", offset(p.currentTokenLocation()));
                    }
                    list.add(readValue(p, e, parents));
                }
                return list;
            }
            case VALUE_STRING:
                return p.getText();
            case VALUE_NUMBER_INT:
                switch (p.getNumberType()) {
                    case INT:
                    case LONG:
                        return p.getLongValue();
                    default:
                        return p.getBigIntegerValue();
                }
            case VALUE_NUMBER_FLOAT:
                return new Decimal(p.getText());
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            case VALUE_NULL:
                return NULL;
            default:
                throw new SyntaxException("unexpected " + describe(t), offset(p.currentTokenLocation()));
        }
    }

    /** "an object", "an array", "a string", ... for messages. */
    static String typeName(Object v) {
        if (v instanceof Map) {
            return "an object";
        } else if (v instanceof List) {
            return "an array";
        } else if (v instanceof String) {
            return "a string";
        } else if (v instanceof Long || v instanceof BigInteger) {
            return "an integer";
        } else if (v instanceof Decimal) {
            return "a number";
        } else if (v instanceof Boolean) {
            return "a boolean";
        }
        return "null";
    }

    /** Compact JSON text of a parsed value, cut to about {@code max} characters, for messages. */
    static String render(Object v, int max) {
        StringBuilder sb = new StringBuilder();
        render(v, sb, max);
        if (sb.length() > max) {
            sb.setLength(max);
            sb.append("...");
        }
        return sb.toString();
    }

    private static void render(Object v, StringBuilder sb, int max) {
        if (sb.length() > max) {
            return;
        }
        if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                quote((String) e.getKey(), sb);
                sb.append(':');
                render(e.getValue(), sb, max);
                if (sb.length() > max) {
                    return;
                }
            }
            sb.append('}');
        } else if (v instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                render(l.get(i), sb, max);
                if (sb.length() > max) {
                    return;
                }
            }
            sb.append(']');
        } else if (v instanceof String s) {
            quote(s.length() > max ? s.substring(0, max) : s, sb);
        } else {
            sb.append(v);
        }
    }

    /**
     * Appends {@code s} as a JSON string exactly as serde_json (the Python package's serializer) writes it:
     * {@code "} and {@code \} escaped, {@code \b \t \n \f \r} as short escapes, other control characters as
     * a lower-case hex escape (backslash, u, 00, two digits), everything else (including non-ASCII and U+007F) verbatim.
     */
    static void quote(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    sb.append("\\\"");
                    break;
                case '\\':
                    sb.append("\\\\");
                    break;
                case '\b':
                    sb.append("\\b");
                    break;
                case '\t':
                    sb.append("\\t");
                    break;
                case '\n':
                    sb.append("\\n");
                    break;
                case '\f':
                    sb.append("\\f");
                    break;
                case '\r':
                    sb.append("\\r");
                    break;
                default:
                    if (c < 0x20) {
                        sb.append("\\u00").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 15, 16));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }

    /** Index of the first unpaired surrogate in {@code s}, or -1 if {@code s} is valid Unicode. */
    static int unpairedSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else {
                    return i;
                }
            } else if (Character.isLowSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }
}
