package org.sd3j.train.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.zip.CRC32C;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.sd3j.ModelLoadException;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.SafetensorsWriter;
import org.sd3j.onnx.safetensors.TensorInfo;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.optim.StateTensors;

/** The safetensors form of a {@link TrainingCheckpoint} (documented there). Internal. */
final class CheckpointFile {
    static final String FORMAT_KEY = "sd3j.format";
    static final String FORMAT = "sd3j-training-checkpoint";
    static final String VERSION_KEY = "sd3j.format_version";
    static final String VERSION = "1";
    static final String CONFIG_KEY = "sd3j.config";
    static final String ORDER_KEY = "sd3j.order";
    static final String CRC_KEY = "sd3j.crc32c";

    private static final String PARAM = "param/";
    private static final String OPTIMIZER = "optimizer/";
    private static final String EMA = "ema/";
    private static final String RNG = "rng/";
    private static final String STEP = "counter/step";
    private static final String OPTIMIZER_STEP = "counter/optimizer.step";
    private static final String EMA_STEP = "counter/ema.step";
    private static final ObjectMapper JSON = new ObjectMapper();

    private CheckpointFile() {
    }

    static void write(Path file, TrainingCheckpoint cp) {
        try {
            JSON.readTree(cp.configJson());
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("configJson must be valid JSON, found '" + abbreviate(cp.configJson())
                    + "': " + e.getOriginalMessage(), e);
        }
        Map<String, Tensor> floats = new TreeMap<>();
        Map<String, Long> longs = new TreeMap<>();
        ObjectNode order = JSON.createObjectNode();
        put(floats, order, PARAM, cp.parameters());
        put(floats, order, OPTIMIZER, cp.optimizer().tensors());
        longs.put(STEP, cp.step());
        longs.put(OPTIMIZER_STEP, cp.optimizer().step());
        if (cp.ema().isPresent()) {
            put(floats, order, EMA, cp.ema().get().tensors());
            longs.put(EMA_STEP, cp.ema().get().step());
        }
        ArrayNode rngOrder = order.putArray(RNG);
        cp.rngState().forEach((name, value) -> {
            longs.put(RNG + name, value);
            rngOrder.add(name);
        });

        SafetensorsWriter writer = SafetensorsWriter.create()
                .metadata(FORMAT_KEY, FORMAT)
                .metadata(VERSION_KEY, VERSION)
                .metadata(CONFIG_KEY, cp.configJson())
                .metadata(ORDER_KEY, order.toString())
                .metadata(CRC_KEY, Long.toHexString(crc(floats, longs)));
        floats.forEach(writer::add);
        longs.forEach((name, v) -> writer.add(name, DType.I64, new long[0],
                ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v)));
        writer.write(file);
    }

    private static void put(Map<String, Tensor> floats, ObjectNode order, String prefix, Map<String, Tensor> tensors) {
        ArrayNode names = order.putArray(prefix);
        tensors.forEach((name, t) -> {
            floats.put(prefix + name, t);
            names.add(name);
        });
    }

    /** CRC32C over (name, little-endian bytes) of every tensor, in name order, as the file lays them out. */
    private static long crc(Map<String, Tensor> floats, Map<String, Long> longs) {
        Map<String, Object> all = new TreeMap<>();
        all.putAll(floats);
        all.putAll(longs);
        CRC32C crc = new CRC32C();
        ByteBuffer scratch = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (Map.Entry<String, Object> e : all.entrySet()) {
            crc.update(e.getKey().getBytes(StandardCharsets.UTF_8));
            if (e.getValue() instanceof Tensor t) {
                FloatBuffer src = t.asFloatBuffer();
                while (src.hasRemaining()) {
                    scratch.clear();
                    int n = Math.min(src.remaining(), scratch.capacity() / Float.BYTES);
                    for (int i = 0; i < n; i++) {
                        scratch.putInt(Float.floatToRawIntBits(src.get()));
                    }
                    scratch.flip();
                    crc.update(scratch);
                }
            } else {
                scratch.clear();
                scratch.putLong((Long) e.getValue()).flip();
                crc.update(scratch);
            }
        }
        return crc.getValue();
    }

    static TrainingCheckpoint read(Path file) {
        try (TensorSource source = Safetensors.open(file)) {
            Map<String, String> meta = source.metadata();
            if (!FORMAT.equals(meta.get(FORMAT_KEY))) {
                throw new ModelLoadException(file, "is not an sd3j training checkpoint: expected __metadata__ '"
                        + FORMAT_KEY + "' = '" + FORMAT + "', found " + quoted(meta.get(FORMAT_KEY)));
            }
            if (!VERSION.equals(meta.get(VERSION_KEY))) {
                throw new ModelLoadException(file, "has checkpoint format version " + quoted(meta.get(VERSION_KEY))
                        + ", expected '" + VERSION + "' (written by another sd3j version)");
            }
            verifyCrc(file, source, meta.get(CRC_KEY));
            JsonNode order = parseOrder(file, meta.get(ORDER_KEY));
            String config = require(file, meta, CONFIG_KEY);
            Map<String, Tensor> params = section(file, source, order, PARAM);
            Map<String, Tensor> optimizer = section(file, source, order, OPTIMIZER);
            Optional<StateTensors> ema = source.contains(EMA_STEP)
                    ? Optional.of(new StateTensors(counter(file, source, EMA_STEP), section(file, source, order, EMA)))
                    : Optional.empty();
            Map<String, Long> rng = new LinkedHashMap<>();
            for (String name : names(file, order, RNG)) {
                rng.put(name, counter(file, source, RNG + name));
            }
            long expectedTensors = params.size() + optimizer.size() + rng.size() + 2
                    + (ema.isPresent() ? ema.get().tensors().size() + 1 : 0);
            if (source.names().size() != expectedTensors) {
                List<String> extra = new ArrayList<>(source.names());
                extra.removeIf(n -> n.equals(STEP) || n.equals(OPTIMIZER_STEP) || n.equals(EMA_STEP)
                        || listed(order, n));
                throw new ModelLoadException(file, "holds tensors its '" + ORDER_KEY + "' does not list: " + extra);
            }
            return new TrainingCheckpoint(counter(file, source, STEP), params,
                    new StateTensors(counter(file, source, OPTIMIZER_STEP), optimizer), ema, rng, config);
        }
    }

    private static boolean listed(JsonNode order, String tensor) {
        for (String prefix : List.of(PARAM, OPTIMIZER, EMA, RNG)) {
            JsonNode names = order.get(prefix);
            if (tensor.startsWith(prefix) && names != null) {
                for (JsonNode n : names) {
                    if (tensor.equals(prefix + n.asText())) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private static void verifyCrc(Path file, TensorSource source, String recorded) {
        if (recorded == null) {
            throw new ModelLoadException(file, "is corrupt: __metadata__ has no '" + CRC_KEY + "' checksum");
        }
        CRC32C crc = new CRC32C();
        for (String name : source.names()) {
            crc.update(name.getBytes(StandardCharsets.UTF_8));
            crc.update(source.bytes(name));
        }
        String actual = Long.toHexString(crc.getValue());
        if (!actual.equals(recorded)) {
            throw new ModelLoadException(file, "is corrupt: the tensor data's CRC32C is " + actual
                    + ", the header records " + recorded);
        }
    }

    private static JsonNode parseOrder(Path file, String json) {
        if (json == null) {
            throw new ModelLoadException(file, "is corrupt: __metadata__ has no '" + ORDER_KEY + "'");
        }
        try {
            JsonNode node = JSON.readTree(json);
            if (node instanceof ObjectNode) {
                return node;
            }
        } catch (JsonProcessingException e) {
            // reported below
        }
        throw new ModelLoadException(file, "is corrupt: __metadata__ '" + ORDER_KEY + "' is not a JSON object");
    }

    private static List<String> names(Path file, JsonNode order, String prefix) {
        JsonNode names = order.get(prefix);
        List<String> out = new ArrayList<>();
        if (names == null) {
            return out;
        }
        if (!names.isArray()) {
            throw new ModelLoadException(file, "is corrupt: '" + ORDER_KEY + "' entry '" + prefix
                    + "' is not an array");
        }
        names.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static Map<String, Tensor> section(Path file, TensorSource source, JsonNode order, String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : names(file, order, prefix)) {
            String key = prefix + name;
            TensorInfo info = source.find(key).orElseThrow(() -> new ModelLoadException(file,
                    "is corrupt: missing tensor '" + key + "' listed in '" + ORDER_KEY + "'"));
            if (info.dtype() != DType.F32) {
                throw new ModelLoadException(file, "tensor '" + key + "' has dtype " + info.dtype()
                        + ", expected F32");
            }
            Tensor t = Tensor.zeros(info.intShape());
            // A byte copy, not float loads and stores: every bit pattern (NaN payloads included) survives.
            t.asFloatBuffer().put(source.bytes(key).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
            out.put(name, t);
        }
        return out;
    }

    private static long counter(Path file, TensorSource source, String name) {
        TensorInfo info = source.find(name).orElseThrow(() -> new ModelLoadException(file,
                "is corrupt: missing counter '" + name + "'"));
        if (info.dtype() != DType.I64 || info.elementCount() != 1) {
            throw new ModelLoadException(file, "counter '" + name + "' is " + info.dtype() + " x "
                    + java.util.Arrays.toString(info.shape()) + ", expected an I64 scalar");
        }
        return source.bytes(name).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    private static String require(Path file, Map<String, String> meta, String key) {
        String v = meta.get(key);
        if (v == null) {
            throw new ModelLoadException(file, "is corrupt: __metadata__ has no '" + key + "'");
        }
        return v;
    }

    private static String quoted(String s) {
        return s == null ? "nothing" : "'" + s + "'";
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
