package org.sd3j.golden;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.sd3j.tensor.Tensor;

/**
 * Reads golden parity data (safetensors files copied from ../shared/golden into test resources) from the class
 * path. Test-only and deliberately minimal: F32, F64 (narrowed to float) and I64 (as float) tensors, trusted input.
 * The library's own validating reader lives in sd3-onnx.
 */
public final class GoldenTensors {
    private final Map<String, Tensor> tensors;
    private final Map<String, double[]> doubles;
    private final Map<String, String> metadata;

    private GoldenTensors(Map<String, Tensor> tensors, Map<String, double[]> doubles, Map<String, String> metadata) {
        this.tensors = tensors;
        this.doubles = doubles;
        this.metadata = metadata;
    }

    /** Loads a safetensors resource, e.g. {@code "/golden/sd3_cond.safetensors"}. */
    public static GoldenTensors load(String resource) {
        try (InputStream in = GoldenTensors.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            ByteBuffer all = ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
            long headerLength = all.getLong(0);
            String json = new String(all.array(), 8, (int) headerLength, StandardCharsets.UTF_8);
            JsonNode header = new ObjectMapper().readTree(json);
            int base = 8 + (int) headerLength;
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, double[]> doubles = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                JsonNode info = e.getValue();
                int[] shape = new int[info.get("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = info.get("shape").get(i).asInt();
                }
                int start = base + info.get("data_offsets").get(0).asInt();
                Tensor t = Tensor.zeros(shape);
                double[] d = new double[t.size()];
                String dtype = info.get("dtype").asText();
                for (int i = 0; i < t.size(); i++) {
                    switch (dtype) {
                        case "F32":
                            d[i] = all.getFloat(start + 4 * i);
                            break;
                        case "F64":
                            d[i] = all.getDouble(start + 8 * i);
                            break;
                        case "I64":
                            d[i] = all.getLong(start + 8 * i);
                            break;
                        default:
                            throw new IllegalStateException("unsupported golden dtype " + dtype);
                    }
                    t.set(i, (float) d[i]);
                }
                tensors.put(e.getKey(), t);
                doubles.put(e.getKey(), d);
            }
            return new GoldenTensors(tensors, doubles, metadata);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor " + name + " in golden file; has " + tensors.keySet());
        }
        return t.copy();
    }

    /** Values in double precision (exact for F64 tensors). */
    public double[] doubles(String name) {
        return doubles.get(name).clone();
    }

    public Map<String, String> metadata() {
        return metadata;
    }
}
