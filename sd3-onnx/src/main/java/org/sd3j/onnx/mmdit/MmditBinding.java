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
        return bind(session, new String[] {MmditGraph.LATENTS, MmditGraph.TIMESTEP, MmditGraph.CONTEXT,
                MmditGraph.POOLED}, MmditGraph.OUTPUT, c, check);
    }

    /**
     * @param inputs the graph's input names for latents, timestep, context and pooled, in that order
     * @param check  validates (latents, timesteps) before each run
     */
    static MmditBinding bind(GraphSession session, String[] inputs, String output, Conditioning c,
                             BiConsumer<Tensor, Tensor> check) {
        GraphSession.Binding b = session.bind(Map.of(inputs[2], c.context(), inputs[3], c.pooled()),
                List.of(inputs[0], inputs[1]), output);
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
