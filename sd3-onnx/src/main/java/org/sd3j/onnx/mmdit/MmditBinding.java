package org.sd3j.onnx.mmdit;

import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

import org.sd3j.conditioning.Conditioning;
import org.sd3j.model.BoundDenoiser;
import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.tensor.Tensor;

/** A transformer session bound to one generation's conditioning ({@link GraphSession.Binding}). */
final class MmditBinding implements BoundDenoiser {
    private final GraphSession.Binding binding;
    private final BiConsumer<Tensor, Tensor> check;

    private MmditBinding(GraphSession.Binding binding, BiConsumer<Tensor, Tensor> check) {
        this.binding = binding;
        this.check = check;
    }

    /** For graphs with the standard input and output names ({@link MmditGraph}). */
    static MmditBinding bind(GraphSession session, Conditioning c, BiConsumer<Tensor, Tensor> check) {
        return bind(session, Map.of(), c, check);
    }

    /** For graphs with the standard names and further inputs fixed for the binding (LoRA adapters). */
    static MmditBinding bind(GraphSession session, Map<String, Tensor> extra, Conditioning c,
                             BiConsumer<Tensor, Tensor> check) {
        return bind(session, new String[] {MmditGraph.LATENTS, MmditGraph.TIMESTEP, MmditGraph.CONTEXT,
                MmditGraph.POOLED}, MmditGraph.OUTPUT, extra, c, check);
    }

    /**
     * @param inputs the graph's input names for latents, timestep, context and pooled, in that order
     * @param check  validates (latents, timesteps) before each run
     */
    static MmditBinding bind(GraphSession session, String[] inputs, String output, Conditioning c,
                             BiConsumer<Tensor, Tensor> check) {
        return bind(session, inputs, output, Map.of(), c, check);
    }

    private static MmditBinding bind(GraphSession session, String[] inputs, String output, Map<String, Tensor> extra,
                                     Conditioning c, BiConsumer<Tensor, Tensor> check) {
        Map<String, Tensor> fixed = new java.util.LinkedHashMap<>(extra);
        fixed.put(inputs[2], c.context());
        fixed.put(inputs[3], c.pooled());
        GraphSession.Binding b = session.bind(fixed, List.of(inputs[0], inputs[1]), output);
        return new MmditBinding(b, check);
    }

    @Override
    public void velocity(Tensor latents, Tensor timesteps, Tensor out) {
        check.accept(latents, timesteps);
        if (!out.hasShape(latents.shape())) {
            throw new IllegalArgumentException("out must have the latents' shape " + java.util.Arrays.toString(
                    latents.shape()) + ", found " + out);
        }
        binding.run(out, latents, timesteps);
    }

    @Override
    public void abort() {
        binding.abort();
    }

    @Override
    public void close() {
        binding.close();
    }
}
