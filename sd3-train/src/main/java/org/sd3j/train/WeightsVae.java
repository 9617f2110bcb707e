package org.sd3j.train;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.sd3j.internal.Checks;
import org.sd3j.internal.Closeables;
import org.sd3j.model.LatentDistribution;
import org.sd3j.model.LatentFormat;
import org.sd3j.model.Vae;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.onnx.runtime.OnnxOptions;
import org.sd3j.onnx.vae.VaeConfig;
import org.sd3j.onnx.vae.VaeGraph;
import org.sd3j.onnx.vae.VaeWeights;
import org.sd3j.tensor.Tensor;

/**
 * A {@link Vae} over weights held in memory (a trainer's live or averaged tensors): the inference graphs of
 * {@link VaeGraph}, run with the tensors the supplier gives at each call fed as the weight inputs, so it always
 * reflects the weights' current values. Sessions are created on first use. Owns them; {@link #close()} releases
 * them (idempotent). Confined to the trainer's thread.
 */
final class WeightsVae implements Vae, AutoCloseable {
    private final VaeConfig config;
    private final VaeWeights declared;
    private final OnnxOptions options;
    private final Supplier<Map<String, Tensor>> weights;
    private GraphSession encoder;
    private GraphSession decoder;
    private boolean closed;

    /**
     * @param declared the weights whose names and shapes the graphs declare
     * @param weights  the current weights by canonical name
     */
    WeightsVae(VaeConfig config, VaeWeights declared, OnnxOptions options, Supplier<Map<String, Tensor>> weights) {
        this.config = config;
        this.declared = declared;
        this.options = options;
        this.weights = weights;
    }

    @Override
    public LatentFormat latentFormat() {
        return config.latentFormat();
    }

    @Override
    public LatentDistribution encode(Tensor images) {
        ensureOpen();
        Checks.notNull(images, "images");
        if (encoder == null) {
            encoder = GraphSession.create(VaeGraph.encoder(config, declared), options,
                    GraphSession.WeightBinding.INPUTS);
        }
        Map<String, Tensor> in = weightsOf("encoder.");
        in.put(VaeGraph.ENCODER_INPUT, images);
        return LatentDistribution.fromMoments(encoder.run(in).get(VaeGraph.ENCODER_OUTPUT));
    }

    @Override
    public Tensor decode(Tensor latents) {
        ensureOpen();
        Checks.notNull(latents, "latents");
        if (decoder == null) {
            decoder = GraphSession.create(VaeGraph.decoder(config, declared), options,
                    GraphSession.WeightBinding.INPUTS);
        }
        Map<String, Tensor> in = weightsOf("decoder.");
        in.put(VaeGraph.DECODER_INPUT, latents);
        return decoder.run(in).get(VaeGraph.DECODER_OUTPUT);
    }

    private Map<String, Tensor> weightsOf(String prefix) {
        Map<String, Tensor> out = new HashMap<>();
        weights.get().forEach((name, t) -> {
            if (name.startsWith(prefix)) {
                out.put(name, t);
            }
        });
        return out;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("autoencoder view is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<AutoCloseable> all = new ArrayList<>();
        all.add(decoder);
        all.add(encoder);
        Closeables.closeAll(all);
    }
}
