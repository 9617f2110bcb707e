package org.sd3j.train.optim;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.sd3j.onnx.safetensors.Safetensors;
import org.sd3j.onnx.safetensors.TensorSource;
import org.sd3j.tensor.Tensor;

/**
 * The expected values PyTorch 1.13.1 produced for {@code src/test/python/make_optim_golden.py}, read from the
 * committed resource {@code torch/optim_golden.safetensors}. Test helper.
 */
public final class TorchGolden implements AutoCloseable {
    private final TensorSource source;

    private TorchGolden(TensorSource source) {
        this.source = source;
    }

    public static TorchGolden open() {
        try {
            Path file = Path.of(TorchGolden.class.getResource("/torch/optim_golden.safetensors").toURI());
            return new TorchGolden(Safetensors.open(file));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A new tensor with the float32 values of {@code name}. */
    public Tensor tensor(String name) {
        return source.toFloatTensor(name);
    }

    /** The float64 values of {@code name}. */
    public double[] doubles(String name) {
        java.nio.ByteBuffer b = source.bytes(name).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        double[] out = new double[b.remaining() / 8];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.getDouble(i * 8);
        }
        return out;
    }

    /** Every tensor under {@code prefix} (which ends with '/'), keyed by the rest of its name, in name order. */
    public Map<String, Tensor> group(String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : source.names()) {
            if (name.startsWith(prefix) && name.indexOf('/', prefix.length()) < 0) {
                out.put(name.substring(prefix.length()), tensor(name));
            }
        }
        return out;
    }

    @Override
    public void close() {
        source.close();
    }
}
