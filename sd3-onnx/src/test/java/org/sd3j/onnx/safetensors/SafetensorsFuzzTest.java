package org.sd3j.onnx.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sd3j.ModelLoadException;
import org.sd3j.tensor.Tensor;

/**
 * Seeded mutations of valid files: truncations, byte flips, header length changes and JSON edits. Opening and
 * reading every tensor must either succeed or throw {@link ModelLoadException}: never a NullPointerException,
 * IndexOutOfBoundsException, BufferUnderflowException, NumberFormatException, OutOfMemoryError or the like.
 */
class SafetensorsFuzzTest {
    private static final Pattern NUMBER = Pattern.compile("-?\\d+");
    private static final Pattern DTYPE = Pattern.compile("\"dtype\":\"([A-Z0-9_]+)\"");
    private static final Pattern SHAPE = Pattern.compile("\"shape\":\\[([^\\]]*)\\]");
    private static final Pattern OFFSETS = Pattern.compile("\"data_offsets\":\\[(\\d+),(\\d+)\\]");

    @TempDir
    Path dir;

    private final Map<String, byte[]> seeds = new LinkedHashMap<>();
    private Path target;
    private int cases;
    private int opened;

    /** Where the cases are written: a RAM disk when there is one (disk writes dominate the run time otherwise). */
    private Path work;

    @BeforeEach
    void seeds() throws Exception {
        Path shm = Path.of("/dev/shm");
        work = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "sd3j-fuzz-") : dir;
        Tensor t = Tensor.of(new float[] {1f, -2f, 3.5f, 1e-3f, 7f, -0f}, 2, 3);
        Path a = dir.resolve("a.safetensors");
        SafetensorsWriter.create().metadata("format", "pt").metadata("k", "v")
                .add("w.f32", t).addAs("w.f16", t, DType.F16).addAs("w.bf16", t, DType.BF16).addAs("w.f64", t, DType.F64)
                .add("ids", DType.I64, new long[] {2}, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 5))
                .add("mask", DType.BOOL, new long[] {3}, ByteBuffer.wrap(new byte[] {1, 0, 1}))
                .add("fp8", DType.F8_E4M3, new long[] {2}, ByteBuffer.wrap(new byte[] {0x38, 0x7E}))
                .add("c", DType.C64, new long[] {1}, ByteBuffer.allocate(8))
                .write(a);
        seeds.put("writer", Files.readAllBytes(a));
        Path b = dir.resolve("b.safetensors");
        SafetensorsWriter.create().add("scalar", new float[] {2f}).add("empty", DType.F16, new long[] {0, 4},
                ByteBuffer.allocate(0)).add("u", DType.U16, new long[] {1}, ByteBuffer.allocate(2)).write(b);
        seeds.put("scalar+empty", Files.readAllBytes(b));
        seeds.put("unaligned", RawFiles.bytes("{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1,9]}}", new byte[9]));
        seeds.put("empty", RawFiles.bytes("{}      ", new byte[0]));
        seeds.put("golden", Files.readAllBytes(Path.of(
                getClass().getResource("/safetensors/golden_d2_plain_odd6x10.safetensors").toURI())));
    }

    @Test
    void mutatedFilesOnlyEverFailWithModelLoadException() throws Exception {
        Random rnd = new Random(20240611);
        for (Map.Entry<String, byte[]> seed : seeds.entrySet()) {
            byte[] valid = seed.getValue();
            boolean large = valid.length > 1200;
            check(seed.getKey() + " unmodified", valid, true);
            // truncation: every length for small seeds, 150 random lengths for large ones
            if (!large) {
                for (int n = 0; n < valid.length; n++) {
                    check(seed.getKey() + " truncated to " + n, java.util.Arrays.copyOf(valid, n), false);
                }
            } else {
                for (int i = 0; i < 150; i++) {
                    int n = rnd.nextInt(valid.length);
                    check(seed.getKey() + " truncated to " + n, java.util.Arrays.copyOf(valid, n), false);
                }
            }
            int headerEnd = 8 + (int) ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            for (int i = 0; i < (large ? 150 : 300); i++) {
                byte[] m = valid.clone();
                int flips = 1 + rnd.nextInt(4);
                StringBuilder what = new StringBuilder(seed.getKey() + " flipped");
                for (int f = 0; f < flips; f++) {
                    int pos = rnd.nextInt(4) == 0 ? rnd.nextInt(valid.length)
                            : 8 + rnd.nextInt(Math.max(1, headerEnd - 8));
                    pos = Math.min(pos, m.length - 1);
                    m[pos] = (byte) (rnd.nextBoolean() ? m[pos] ^ (1 << rnd.nextInt(8)) : rnd.nextInt(256));
                    what.append(' ').append(pos);
                }
                check(what.toString(), m, false);
            }
            for (int i = 0; i < 60; i++) {
                byte[] m = valid.clone();
                long n = switch (rnd.nextInt(5)) {
                    case 0 -> headerEnd - 8 + rnd.nextInt(17) - 8;
                    case 1 -> rnd.nextLong();
                    case 2 -> rnd.nextInt(valid.length + 16);
                    case 3 -> 100_000_000L + rnd.nextInt(3) - 1;
                    default -> 1L << rnd.nextInt(64);
                };
                ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
                check(seed.getKey() + " header length " + n, m, false);
            }
            String header = new String(valid, 8, headerEnd - 8, StandardCharsets.UTF_8);
            byte[] data = java.util.Arrays.copyOfRange(valid, headerEnd, valid.length);
            for (int i = 0; i < (large ? 120 : 200); i++) {
                String edit = editJson(header, rnd);
                boolean pad = rnd.nextBoolean();
                String h = pad ? edit + " ".repeat((8 - edit.getBytes(StandardCharsets.UTF_8).length % 8) % 8) : edit;
                check(seed.getKey() + " json edit: " + h, RawFiles.bytes(h, data), false);
            }
        }
        assertThat(cases).isGreaterThan(3000);
        assertThat(opened).isGreaterThan(100); // some mutations stay valid (e.g. flips inside data or metadata)
    }

    /** One random structural edit of a header. */
    private static String editJson(String header, Random rnd) {
        switch (rnd.nextInt(10)) {
            case 0: { // swap the offsets of two tensors
                List<Matcher> m = all(OFFSETS, header);
                if (m.size() < 2) {
                    return header.replace("}", ",}");
                }
                Matcher x = m.get(rnd.nextInt(m.size()));
                Matcher y = m.get(rnd.nextInt(m.size()));
                String a = x.group();
                String b = y.group();
                return header.replace(a, "\u0000").replace(b, a).replace("\u0000", b);
            }
            case 1: { // change a dtype
                List<Matcher> m = all(DTYPE, header);
                if (m.isEmpty()) {
                    return header;
                }
                Matcher x = m.get(rnd.nextInt(m.size()));
                String[] choices = {"F32", "F16", "BF16", "F64", "I8", "U64", "C64", "F4", "f32", "", "F32 "};
                String to = rnd.nextBoolean() ? DType.values()[rnd.nextInt(DType.values().length)].name()
                        : choices[rnd.nextInt(choices.length)];
                return header.substring(0, x.start(1)) + to + header.substring(x.end(1));
            }
            case 2: { // change a shape
                List<Matcher> m = all(SHAPE, header);
                if (m.isEmpty()) {
                    return header;
                }
                Matcher x = m.get(rnd.nextInt(m.size()));
                String[] shapes = {"", "0", "1", "-1", "2,3", "3,2", "6", "1,1,1,1", "9223372036854775807",
                        "4294967296,4294967296", "18446744073709551616", "1.5", "\"2\"", "null", "[2]",
                        "2305843009213693952", x.group(1) + ",1", x.group(1) + ",2", "0," + x.group(1)};
                return header.substring(0, x.start(1)) + shapes[rnd.nextInt(shapes.length)] + header.substring(x.end(1));
            }
            case 3: { // duplicate a key: repeat the first entry
                int colon = header.indexOf("\":");
                int end = header.indexOf('}', colon);
                if (colon < 0 || end < 0) {
                    return header;
                }
                String entry = header.substring(1, end + 1);
                return "{" + entry + "," + header.substring(1);
            }
            case 4: { // replace a number
                List<Matcher> m = all(NUMBER, header);
                if (m.isEmpty()) {
                    return header;
                }
                Matcher x = m.get(rnd.nextInt(m.size()));
                long[] values = {0, 1, -1, 7, 8, Long.MAX_VALUE, Long.MIN_VALUE, Integer.MAX_VALUE, 1L << 32,
                        rnd.nextInt(100_000), Long.parseLong(x.group()) + 1, Long.parseLong(x.group()) - 1};
                String v = rnd.nextInt(8) == 0 ? "99999999999999999999999" : Long.toString(values[rnd.nextInt(values.length)]);
                return header.substring(0, x.start()) + v + header.substring(x.end());
            }
            case 5: { // delete a field
                String[] fields = {"\"dtype\":", "\"shape\":", "\"data_offsets\":"};
                String f = fields[rnd.nextInt(fields.length)];
                return header.replaceFirst(Pattern.quote(f), "\"x" + rnd.nextInt(3) + "\":");
            }
            case 6: { // insert a random character
                int pos = rnd.nextInt(header.length() + 1);
                String chars = "{}[],:\"\\ 0-9eE.nt\u00e9\u0000";
                return header.substring(0, pos) + chars.charAt(rnd.nextInt(chars.length())) + header.substring(pos);
            }
            case 7: { // delete a span
                int a = rnd.nextInt(header.length());
                int b = Math.min(header.length(), a + 1 + rnd.nextInt(12));
                return header.substring(0, a) + header.substring(b);
            }
            case 8: { // move a tensor, keeping its size: overlaps, gaps, out-of-range offsets
                List<Matcher> m = all(OFFSETS, header);
                if (m.isEmpty()) {
                    return header;
                }
                Matcher x = m.get(rnd.nextInt(m.size()));
                long delta = rnd.nextInt(4) == 0 ? rnd.nextInt(64) : rnd.nextInt(17) - 8;
                long begin = Long.parseLong(x.group(1)) + delta;
                long end = Long.parseLong(x.group(2)) + delta;
                return header.substring(0, x.start()) + "\"data_offsets\":[" + begin + "," + end + "]"
                        + header.substring(x.end());
            }
            default: { // deep nesting or odd metadata
                String[] replacements = {"[".repeat(5000), "{\"__metadata__\":{\"a\":1},", "{\"__metadata__\":[],",
                        "{\"__metadata__\":null,", "{\"__metadata__\":\"x\",", "{\"e\":{\"dtype\":\"F32\"},"};
                return replacements[rnd.nextInt(replacements.length)] + header.substring(1);
            }
        }
    }

    private static List<Matcher> all(Pattern p, String s) {
        List<Matcher> out = new ArrayList<>();
        Matcher m = p.matcher(s);
        while (m.find()) {
            Matcher copy = p.matcher(s);
            copy.find(m.start());
            out.add(copy);
        }
        return out;
    }

    /** Writes {@code content}, opens it and reads everything; only ModelLoadException may come out. */
    private void check(String what, byte[] content, boolean mustOpen) throws IOException {
        cases++;
        // a new file per case: rewriting one that a previous case still has mapped is ~10x slower
        target = work.resolve("fuzz-" + cases + ".safetensors");
        Files.write(target, content);
        try (TensorSource s = SafetensorsFile.open(target)) {
            opened++;
            s.metadata().forEach((k, v) -> assertThat(k).isNotNull());
            for (String name : s.names()) {
                TensorInfo info = s.info(name);
                assertThat(s.bytes(name).remaining()).isEqualTo(info.byteSize());
                tolerate(() -> s.toFloatTensor(name));
                tolerate(() -> s.forInference(name));
                tolerate(() -> s.toLongArray(name));
            }
        } catch (ModelLoadException e) {
            if (mustOpen) {
                fail(what + ": a valid file was rejected", e);
            }
            assertThat(e.getMessage()).startsWith(target.toString());
        } catch (Throwable e) {
            fail(what + ": " + e, e);
        } finally {
            Files.deleteIfExists(target);
        }
    }

    @AfterEach
    void removeWorkFolder() throws IOException {
        if (!work.equals(dir)) {
            Files.delete(work); // the cases deleted their files
        }
    }

    private static void tolerate(Runnable read) {
        try {
            read.run();
        } catch (ModelLoadException expected) {
            // an unsupported conversion of a valid tensor
        }
    }
}
