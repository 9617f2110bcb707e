package org.sd3j.onnx.lora;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.sd3j.ModelLoadException;
import org.sd3j.onnx.safetensors.DType;
import org.sd3j.onnx.safetensors.Half;
import org.sd3j.onnx.safetensors.LoadedTensor;
import org.sd3j.onnx.safetensors.TensorInfo;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/**
 * A checkpoint with LoRAs merged into some of its tensors: those tensors read as {@code W + sum scale * B A}
 * ({@link LoraMerge}), computed once when this is created and kept in the stored precision (float16 stays float16,
 * bfloat16 is kept as float32, which is what {@link #forInference} hands out for it anyway); every other tensor is
 * the wrapped source's, zero-copy as before. Models built on this source therefore bind the original memory-mapped
 * weights except for the merged ones.
 *
 * <p>Owns the wrapped source: {@link #close()} closes it. Thread-safe.
 */
public final class MergedTensorSource implements TensorSource {
    private final TensorSource source;
    private final Map<String, LoadedTensor> merged = new HashMap<>();

    private MergedTensorSource(TensorSource source) {
        this.source = source;
    }

    /**
     * Merges {@code adapters} into {@code source}'s tensors (F32, F16 or BF16 weights). Returns {@code source}
     * itself when there are no adapters.
     *
     * @throws ModelLoadException for a merged tensor of another element type
     */
    public static TensorSource of(TensorSource source, List<PlacedAdapter> adapters) {
        if (adapters.isEmpty()) {
            return source;
        }
        MergedTensorSource m = new MergedTensorSource(source);
        Map<String, float[]> values = LoraMerge.merge(adapters, n -> source.toFloatTensor(n).toArray());
        values.forEach((name, v) -> {
            TensorInfo info = source.info(name);
            DType keep = info.dtype() == DType.F16 ? DType.F16 : DType.F32;
            if (info.dtype() != DType.F16 && info.dtype() != DType.F32 && info.dtype() != DType.BF16) {
                throw new ModelLoadException(source.pathOf(name), "cannot merge a LoRA into tensor '" + name
                        + "' of type " + info.dtype() + ": expected F32, F16 or BF16");
            }
            m.merged.put(name, new LoadedTensor(keep, info.shape(), encode(v, keep).asReadOnlyBuffer()
                    .order(ByteOrder.LITTLE_ENDIAN)));
        });
        return m;
    }

    /** {@code values} as little-endian F32, F16 or BF16 in a new direct buffer. */
    static ByteBuffer encode(float[] values, DType type) {
        int size = type == DType.F32 ? 4 : 2;
        ByteBuffer out = ByteBuffer.allocateDirect(values.length * size).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < values.length; i++) {
            switch (type) {
                case F32 -> out.putFloat(i * 4, values[i]);
                case F16 -> out.putShort(i * 2, Half.floatToF16(values[i]));
                default -> out.putShort(i * 2, Half.floatToBf16(values[i]));
            }
        }
        return out;
    }

    @Override
    public Set<String> names() {
        return source.names();
    }

    @Override
    public TensorInfo info(String name) {
        return source.info(name);
    }

    @Override
    public Optional<TensorInfo> find(String name) {
        return source.find(name);
    }

    @Override
    public Map<String, String> metadata() {
        return source.metadata();
    }

    /** A merged tensor's values in its stored type (rounded to it); any other tensor's stored bytes. */
    @Override
    public ByteBuffer bytes(String name) {
        LoadedTensor t = merged.get(name);
        if (t == null) {
            return source.bytes(name);
        }
        DType stored = source.info(name).dtype();
        if (stored == t.dtype()) {
            return t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }
        return encode(toFloatTensor(name).toArray(), stored).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public Path pathOf(String name) {
        return source.pathOf(name);
    }

    @Override
    public Tensor toFloatTensor(String name) {
        LoadedTensor t = merged.get(name);
        if (t == null) {
            return source.toFloatTensor(name);
        }
        ByteBuffer b = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[b.remaining() / (t.dtype() == DType.F16 ? 2 : 4)];
        for (int i = 0; i < v.length; i++) {
            v[i] = t.dtype() == DType.F16 ? Half.f16ToFloat(b.getShort(i * 2)) : b.getFloat(i * 4);
        }
        return Tensor.of(v, t.intShape());
    }

    @Override
    public long[] toLongArray(String name) {
        return source.toLongArray(name);
    }

    @Override
    public LoadedTensor forInference(String name) {
        LoadedTensor t = merged.get(name);
        return t == null ? source.forInference(name)
                : new LoadedTensor(t.dtype(), t.shape(), t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN));
    }

    @Override
    public void close() {
        source.close();
    }
}
