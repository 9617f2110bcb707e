package org.sd3j.train.step;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.sd3j.onnx.graph.GraphSession;
import org.sd3j.tensor.Tensor;
import org.sd3j.train.optim.AdamW;
import org.sd3j.train.optim.AdamWSettings;
import org.sd3j.train.optim.GradientClipping;

/**
 * A step graph run the way the trainers run it, for the benchmarks: data inputs and trainable parameters (writable
 * buffers) bound once, the loss, every gradient and the sum of their squares into reused buffers, then
 * global-norm clipping (from those sums) and AdamW in Java.
 * Owns its binding, not the session; not thread-safe.
 */
final class BoundTrainingStep implements AutoCloseable {
    private final GraphSession.Binding binding;
    private final Tensor[] inputs;
    private final Tensor[] outputs;
    private final Map<String, Tensor> gradients = new LinkedHashMap<>();
    private final Tensor squares;
    private final AdamW adamW;
    private final GradientClipping clipping = GradientClipping.defaults();

    /**
     * @param session    the step graph's session
     * @param data       the graph's data inputs by name, in binding order
     * @param parameters the trainable inputs by name, each with the graph's gradient output {@code gradPrefix + name}
     * @param loss       the loss output's name
     * @param gradPrefix the prefix of the gradient outputs' names
     */
    BoundTrainingStep(GraphSession session, Map<String, Tensor> data, Map<String, Tensor> parameters, String loss,
                      String gradPrefix) {
        List<String> varying = new ArrayList<>(data.keySet());
        List<Tensor> in = new ArrayList<>(data.values());
        List<String> outs = new ArrayList<>(List.of(loss));
        List<Tensor> outTensors = new ArrayList<>(List.of(Tensor.zeros()));
        parameters.forEach((name, p) -> {
            Tensor g = Tensor.zeros(p.shape());
            gradients.put(name, g);
            varying.add(name);
            in.add(p);
            outs.add(gradPrefix + name);
            outTensors.add(g);
        });
        squares = Tensor.zeros();
        outs.add(GradientOutputs.SUM_OF_SQUARES);
        outTensors.add(squares);
        binding = session.bind(Map.of(), varying, outs);
        inputs = in.toArray(Tensor[]::new);
        outputs = outTensors.toArray(Tensor[]::new);
        adamW = AdamW.create(parameters, AdamWSettings.defaults());
    }

    /** Forward, backward, clipping and one AdamW update; returns the loss. */
    float run() {
        binding.run(outputs, inputs);
        double norm = Math.sqrt(squares.get(0));
        adamW.step(gradients, AdamWSettings.defaults().learningRate(), clipping.coefficient(norm));
        return outputs[0].get(0);
    }

    @Override
    public void close() {
        binding.close();
    }
}
